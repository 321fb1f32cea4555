-- POST /api/v1/auth/login continuously, each request for the next of $BENCH_LOGIN_ACCOUNTS
-- seeded SMEs (sme-$BENCH_RUN-00000@seed.invalid, …), all with $BENCH_PASSWORD.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

function init(args)
   accounts = tonumber(os.getenv("BENCH_LOGIN_ACCOUNTS"))
   run = os.getenv("BENCH_RUN")
   password = os.getenv("BENCH_PASSWORD")
   n = tid * 1000
end

function request()
   n = n + 1
   local email = string.format("sme-%s-%05d@seed.invalid", run, n % accounts)
   local body = string.format('{"email":"%s","password":"%s"}', email, password)
   return wrk.format("POST", "/api/v1/auth/login", { ["content-type"] = "application/json" }, body)
end
