-- wrk script for bench/load_search.py: every request asks for the next search term in turn.
--
--   wrk ... -s bench/search_terms.lua <url> -- <path prefix> <url-encoded term> [<term> ...]
--
-- e.g. `-- /patients/?search= joh mart john+smith 5501`. Headers (cookie, token, HX-Request) come from
-- wrk's -H options. Each thread starts at a different term, so the connections do not move in step.
-- At the end it prints one line, `RESULT {json}`, that load_search.py reads: latencies in microseconds,
-- and `non_200` counting every answer but 200 (wrk's own error count misses redirects, e.g. to the login page).

local threads = {}

function setup(thread)
   thread:set("thread_number", #threads)
   table.insert(threads, thread)
end

local paths = {}
local counter = 0
non_200 = 0

function init(args)
   for index = 2, #args do
      table.insert(paths, args[1] .. args[index])
   end
   counter = thread_number or 0
end

function request()
   counter = counter + 1
   return wrk.format(nil, paths[(counter % #paths) + 1])
end

function response(status, headers, body)
   if status ~= 200 then
      non_200 = non_200 + 1
   end
end

function done(summary, latency, requests)
   local refused = 0
   for _, thread in ipairs(threads) do
      refused = refused + thread:get("non_200")
   end
   local errors = summary.errors
   io.write(string.format(
      'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
      '"non_200": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, refused, errors.connect, errors.read, errors.write, errors.timeout
   ))
end
