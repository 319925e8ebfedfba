-- wrk script: GET a path drawn at random from a file of paths, one a line.
-- Arguments after `--`: the file, and an Authorization header's value.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  wrk.headers["Authorization"] = args[2]
  math.randomseed(os.time() * 100 + thread_number)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
