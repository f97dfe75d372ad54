-- wrk script: POST a rating with a unique idempotency key per request.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tid)
  prefix = string.format("bench%08x%04d", math.random(0, 0x7fffffff), tid)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"page": "quickstart/", "version": "0.1", "rating": %d, "idempotency_key": "%s%010d"}',
    counter % 2, prefix, counter)
  return wrk.format("POST", "/api/v1/feedback", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("non2xx=%d\n", non2xx))
end
