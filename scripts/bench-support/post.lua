-- wrk script for scripts/bench: POST the JSON body in $BENCH_BODY_FILE with the headers in
-- $BENCH_HEADERS ("Name: value" lines). With BENCH_COUNT_STATUS=1 it also tallies the response
-- statuses and keeps one body per non-2xx status, printed at the end as "status CODE N" and
-- "sample CODE BODY" lines. Counting needs wrk to parse every response's headers, which costs
-- throughput, so scripts/bench turns it on only to diagnose a run that saw non-2xx answers.

local function read_file(path)
    local f = assert(io.open(path, "rb"))
    local data = f:read("*a")
    f:close()
    return (data:gsub("%s+$", ""))
end

wrk.method = "POST"
wrk.body = read_file(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set"))
wrk.headers["Content-Type"] = "application/json"
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
    local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
    if name then wrk.headers[name] = value end
end

if os.getenv("BENCH_COUNT_STATUS") == "1" then
    local threads = {}

    function setup(thread)
        table.insert(threads, thread)
    end

    function init(args)
        statuses = {}
        samples = {}
    end

    function response(status, headers, body)
        local key = tostring(status)
        statuses[key] = (statuses[key] or 0) + 1
        if (status < 200 or status > 299) and samples[key] == nil then
            samples[key] = (body or ""):sub(1, 300):gsub("[\r\n]+", " ")
        end
    end

    function done(summary, latency, requests)
        local total, bodies = {}, {}
        for _, thread in ipairs(threads) do
            for code, n in pairs(thread:get("statuses") or {}) do
                total[code] = (total[code] or 0) + n
            end
            for code, body in pairs(thread:get("samples") or {}) do
                bodies[code] = bodies[code] or body
            end
        end
        for code, n in pairs(total) do
            io.write(string.format("status %s %d\n", code, n))
        end
        for code, body in pairs(bodies) do
            io.write(string.format("sample %s %s\n", code, body))
        end
    end
end
