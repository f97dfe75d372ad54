-- wrk script: POST a rating with a unique idempotency key, each connection waiting PAUSE ms
-- (wrk's delay()) after each answer, so that all of them together keep a steady rate.
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + tid)
  prefix = string.format("soak%08x%04d", math.random(0, 0x7fffffff), tid)
  pause = tonumber(args[1])  -- soak_ingest.py works it out from the rate and the latency
end

function delay()
  return pause
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"page": "quickstart/", "version": "0.1", "rating": %d, "idempotency_key": "%s%010d"}',
    counter % 2, prefix, counter)
  return wrk.format("POST", "/api/v1/feedback", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("non2xx=%d\n", summary.errors.status))
end
