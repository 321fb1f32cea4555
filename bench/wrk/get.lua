-- A plain GET of the URL given to wrk (the token comes with -H).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
