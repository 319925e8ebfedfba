"""OCL (Open Concept Lab) users API: users, the authenticated user, staff rights, deactivation; at /ocl."""
