-- Shared by the wrk scripts: each thread's number (`tid`, from 0), and one summary line
-- that bench/run reads.

local threads = 0
function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      "requests=%d per_sec=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d socket_errors=%d\n",
      summary.requests, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
      errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
