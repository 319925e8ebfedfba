-- wrk script: POST a JSON body whose unique_id, user_name and email differ on every request.
-- Arguments after `--`: path, tag (unique to the run), head (a format with three %s for the key),
-- tail (the rest of the JSON object), and optionally an Authorization header's value. The key is
-- tag-thread-counter, so no two requests repeat.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  path, tag, head, tail = args[1], args[2], args[3], args[4]
  counter = 0
  wrk.headers["Content-Type"] = "application/json"
  if args[5] then
    wrk.headers["Authorization"] = args[5]
  end
end

function request()
  counter = counter + 1
  local key = tag .. "-" .. thread_number .. "-" .. counter
  return wrk.format("POST", path, nil, string.format(head, key, key, key) .. tail)
end
