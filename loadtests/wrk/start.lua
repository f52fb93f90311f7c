-- wrk script for B5: start an execution (no wait) per request.
wrk.method = "POST"
wrk.body   = '{"input":{"n":1}}'
wrk.headers["Content-Type"] = "application/json"
