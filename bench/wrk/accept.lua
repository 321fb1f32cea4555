-- POST /api/v1/items/{id}/accept for each id of the file $BENCH_ITEMS once: thread k of n
-- takes the ids k, k+n, k+2n, … (the token comes with -H).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

function init(args)
   items = {}
   for line in io.lines(os.getenv("BENCH_ITEMS")) do
      items[#items + 1] = line
   end
   stride = tonumber(os.getenv("BENCH_THREADS"))
   nxt = tid + 1
end

function request()
   local id = items[nxt]
   nxt = nxt + stride
   if id == nil then
      -- The queue is empty: this request fails with 404 and is counted as non-2xx.
      id = "exhausted"
   end
   return wrk.format("POST", "/api/v1/items/" .. id .. "/accept")
end
