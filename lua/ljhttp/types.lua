---@meta
-- LuaCATS definitions for lua-language-server (LuaLS): the types of
-- ljhttp's options, responses, clients, handles and streams. Nothing here
-- runs; the functions themselves are annotated where they are defined
-- (lua/ljhttp.lua, lua/ljhttp/client.lua). README.md and doc/ljhttp.txt
-- describe every field.

---@alias ljhttp.ErrorCode
---| "invalid_argument"
---| "unsupported_scheme"
---| "invalid_url"
---| "dns"
---| "connect"
---| "tls"
---| "timeout"
---| "too_many_redirects"
---| "too_large"
---| "protocol"
---| "http_status"
---| "network"
---| "cancelled"
---| "closed"
---| "out_of_memory"
---| "internal"
---| "io"
---| "json"
---| "callback"

---Seconds (fractions honoured) or a Go duration string ("300ms", "1.5s", "1h30m").
---@alias ljhttp.Duration number|string

---@alias ljhttp.Method "GET"|"POST"|"PUT"|"PATCH"|"DELETE"|"HEAD"|"OPTIONS"|string

---@alias ljhttp.HostName "luajit"|"nvim"|"openresty"

---Values of a query or form table: a string, number or boolean, or an array of them.
---@alias ljhttp.FormValue string|number|boolean|(string|number|boolean)[]

---@class ljhttp.Credentials
---@field user string
---@field pass string

---One part of a multipart/form-data body: exactly one of data and file.
---@class ljhttp.Part
---@field name string
---@field data? string|number in-memory contents
---@field file? string a file streamed from disk
---@field filename? string defaults to the file's base name
---@field content_type? string

---Request options (every request function, and client defaults).
---@class ljhttp.Options
---@field query? string|table<string, ljhttp.FormValue> a string replaces the URL's query (gluahttp); a table is encoded and appended
---@field headers? table<string, string|number> name -> value, applied last
---@field cookies? table<string, string> sent as one Cookie header
---@field body? string|fun(): string? sent byte-exact with Content-Length; a function streams the upload piece by piece (nil ends it)
---@field form? string|table<string, ljhttp.FormValue> x-www-form-urlencoded body (body wins)
---@field json? any encoded as the JSON body, with Content-Type: application/json
---@field multipart? ljhttp.Part[] a multipart/form-data body
---@field body_file? string upload this file's bytes as the body
---@field expect_continue? boolean default true: body_file/multipart uploads from 1 MiB send Expect: 100-continue (a refusal comes before the body)
---@field output? string write the response body to this file (response.body is then "")
---@field output_sync? boolean fsync the output file and its directory before returning (default false)
---@field decode? "json"|false parse the body as JSON in C (response:json())
---@field auth? ljhttp.Credentials basic auth
---@field timeout? ljhttp.Duration total time, redirects included; 0 = no total limit
---@field connect_timeout? ljhttp.Duration default 10 s
---@field idle_timeout? ljhttp.Duration no byte for this long aborts; default 30 s
---@field max_body_size? number|false bytes, default 256 MiB; false = no limit
---@field follow_redirects? boolean default true
---@field max_redirects? integer default 10
---@field insecure? boolean skip TLS verification for this request
---@field on_chunk? fun(chunk: string) async only (blocking calls refuse it): body bytes as they arrive
---@field on_event? fun(event: ljhttp.Event) async only (blocking calls refuse it): server-sent events as they arrive
---@field on_line? fun(line: any, err?: string, code?: ljhttp.ErrorCode) async only: each line of the body (LF or CRLF), or its JSON value with lines = "json" (nil, message, "json" for a line that is not JSON)
---@field lines? "text"|"json" async only, with on_line: "json" decodes each line (blank lines skipped)
---@field on_progress? fun(progress: ljhttp.Progress) async only: figures through the host, at most every progress_interval, then once final, before the callback
---@field progress_interval? ljhttp.Duration between on_progress calls (default 0.1 s)
---@field proxy? string|false a proxy URL; false ignores the proxy environment variables
---@field proxy_auth? ljhttp.Credentials
---@field no_proxy? string comma-separated hosts that bypass the proxy
---@field ca_file? string
---@field ca_path? string a hashed CA directory; alone it replaces the system store
---@field client_cert? string
---@field client_key? string
---@field client_key_password? string
---@field tls_min_version? "1.2"|"1.3"
---@field pinned_public_key? string sha256//base64 pins, or a key file
---@field http_version? "1.1"|"2"|"2-prior-knowledge"|"3"|"3-only"
---@field decompress? boolean ask for and decode gzip, deflate, br, zstd
---@field unix_socket? string connect to this Unix socket path
---@field retries? integer 0-10 extra attempts for idempotent methods
---@field retry_delay? ljhttp.Duration default 1 s, doubled per attempt
---@field verbose? boolean fill response.trace
---@field method? string ljhttp.sse only: the method (default "GET")

---Client options: the client's own settings plus any request option as a default.
---@class ljhttp.ClientOptions: ljhttp.Options
---@field cookie_jar? boolean|string true: an in-memory jar; a path: a Netscape cookie file (its directory must exist and be writable)
---@field max_connections? integer cap on open connections
---@field max_host_connections? integer cap on connections per host
---@field host? ljhttp.HostName|table which event loop drives async requests (detected)
---@field backend? "epoll"|"kqueue"|"portable" how the engine waits for sockets (default: the platform's, or LJHTTP_BACKEND)

---@class ljhttp.BatchOptions
---@field concurrency? integer 1-10000, default 16

---One batch item: { method, url [, options] }.
---@alias ljhttp.BatchItem { [1]: ljhttp.Method, [2]: string, [3]: ljhttp.Options? }

---One link of a Link header: its absolute URL and its parameters.
---@class ljhttp.Link
---@field url string the target, resolved against the response's URL
---@field rel string the rel it is filed under (lower case)
---@field [string] string the link's other parameters (title, type, ...)

---@class ljhttp.Redirect
---@field status_code integer
---@field url string

---@class ljhttp.Timings
---@field dns number seconds from the start of the last hop
---@field connect number
---@field tls number
---@field first_byte number
---@field total number

---A response: a plain table (methods live in its metatable).
---@class ljhttp.Response
---@field body string the body, byte-exact
---@field body_size integer its length in bytes
---@field status_code integer
---@field url string final URL after redirects (credentials removed)
---@field headers table<string, string> canonical name -> first value; lookup ignores case
---@field header_list { [1]: string, [2]: string }[] every header of the final response, in order
---@field links table<string, ljhttp.Link> the Link headers (RFC 8288) by rel; {} when none
---@field cookies table<string, string> from the final response's Set-Cookie headers
---@field redirects ljhttp.Redirect[]
---@field http_version? "1.0"|"1.1"|"2"|"3"
---@field remote_ip string
---@field timings ljhttp.Timings
---@field retries integer retries used
---@field trace? string with verbose = true: libcurl's trace, credentials masked
---@field json_value? any with decode = "json": the decoded body
---@field json_error? string with decode = "json": why the body is not JSON
local Response = {}

---The body as a Lua value, or nil, message, "json".
---@return any value
---@return string? message
---@return ljhttp.ErrorCode? code
function Response:json() end

---@class ljhttp.Progress
---@field downloaded integer
---@field download_total integer 0 when unknown
---@field uploaded integer
---@field upload_total integer
---@field [1] integer downloaded
---@field [2] integer download_total
---@field [3] integer uploaded
---@field [4] integer upload_total

---@alias ljhttp.Callback fun(res: ljhttp.Response?, err: string?, code: ljhttp.ErrorCode?, answer: ljhttp.Response?) answer: with "http_status", the refused response

---What the _async functions return.
---@class ljhttp.Handle
local Handle = {}

---Ends the transfer; the callback gets nil, "cancelled", "cancelled".
function Handle:cancel() end

---@return boolean finished
function Handle:done() end

---Blocks (driving the engine; yields in OpenResty) until the request is
---done, and returns what the callback got; nil, "wait timed out",
---"timeout" when timeout seconds passed first (the request goes on).
---In OpenResty callbacks run only in the nginx request that made the
---request, from its own waits (docs/hosts.md).
---@param timeout? number seconds
---@return ljhttp.Response? res
---@return string? err
---@return ljhttp.ErrorCode? code
function Handle:wait(timeout) end

---@return ljhttp.Progress
function Handle:progress() end

---A streamed response body (ljhttp.stream, client:stream): status and
---headers are in, the body is read piece by piece.
---@class ljhttp.Stream
---@field status_code integer
---@field headers table<string, string>
---@field header_list { [1]: string, [2]: string }[]
---@field cookies table<string, string>
---@field url string
---@field redirects ljhttp.Redirect[]
---@field http_version? string
---@field remote_ip string
---@field error? string after the end: why the transfer failed
---@field error_code? ljhttp.ErrorCode
local Stream = {}

---The next chunk (a non-empty string), nil at the end, or nil, message, code.
---@return string? chunk
---@return string? err
---@return ljhttp.ErrorCode? code
function Stream:read() end

---The next chunk in place, without a Lua string: a `const char *` and its
---length, valid until the next read, read_ref or close of this stream; nil
---at the end, or nil, message, code. Keep the stream referenced while using
---the pointer: a collected stream's buffer is reused by its client's next one.
---@return ffi.cdata*|nil ptr
---@return integer|string|nil len_or_err
---@return ljhttp.ErrorCode? code
function Stream:read_ref() end

---@return fun(): string? iterator over the remaining chunks
function Stream:chunks() end

---Lines of the remaining body (LF or CRLF; the last needs none); with
---"json" each line's decoded value, blank lines skipped. A failure, or a
---line that is not JSON (error_code "json"), ends the loop with s.error.
---@param format? "text"|"json"
---@return fun(): any iterator over the lines (or values)
function Stream:lines(format) end

---Ends the transfer if it still runs. Always true.
---@return true
function Stream:close() end

---One server-sent event.
---@class ljhttp.Event
---@field event string the type ("message" by default)
---@field data string
---@field id string the last event ID ("" when none was set)
---@field retry? integer reconnection time in ms

---What ljhttp.sse and client:sse return: call it (or use it in a generic
---for) for the next event.
---@class ljhttp.Events
---@field status_code integer
---@field headers table<string, string>
---@field header_list { [1]: string, [2]: string }[]
---@field url string
---@field last_event_id string
---@field retry? integer
---@field error? string
---@field error_code? ljhttp.ErrorCode
---@overload fun(): ljhttp.Event?
local Events = {}

---The next event, nil at the end, or nil, message, code.
---@return ljhttp.Event? event
---@return string? err
---@return ljhttp.ErrorCode? code
function Events:next() end

---@return true
function Events:close() end

---Options of ljhttp.websocket and client:websocket: the request options
---that shape a connection (headers, cookies, auth, TLS, proxy, timeouts for
---the handshake), and these.
---@class ljhttp.WebSocketOptions: ljhttp.Options
---@field max_message_size? integer bytes of one message (default 16 MiB; negative: no limit); beyond it the connection ends with too_large (close code 1009)
---@field on_open? fun(conn: ljhttp.WebSocket) Neovim: the handshake succeeded
---@field on_message? fun(conn: ljhttp.WebSocket, data: string, kind: "text"|"binary"|"pong") Neovim: one whole message
---@field on_close? fun(conn: ljhttp.WebSocket, code: integer, reason: string, err?: string, errcode?: ljhttp.ErrorCode, response?: ljhttp.Response) Neovim: once, at the end

---A WebSocket connection (ljhttp.websocket, client:websocket).
---@class ljhttp.WebSocket
---@field response ljhttp.Response the handshake's answer (status 101 and headers)
---@field close_code? integer once closed: the peer's code (1005 none given, 1006 no close frame)
---@field close_reason? string
local WebSocket = {}

---Queues a message; it leaves as the socket takes it.
---@param data string
---@param kind? "text"|"binary"|"ping"|"pong" default "text" (text must be UTF-8; ping/pong at most 125 bytes)
---@return true|nil ok
---@return string? err
---@return ljhttp.ErrorCode? code
function WebSocket:send(data, kind) end

---The next message, waiting up to timeout seconds (nil: until one comes);
---nil, message, code: "timeout" (still open), "closed", or why it failed.
---@param timeout? number
---@return string? data
---@return string? kind_or_err "text", "binary" or "pong"; or the message
---@return ljhttp.ErrorCode? code
function WebSocket:receive(timeout) end

---@param timeout? number seconds to wait for each message
---@return fun(): string?, string? iterator of data, kind until closed or a timeout
function WebSocket:messages(timeout) end

---Sends a close frame and waits up to wait seconds (default 1) for the
---peer's; returns the peer's close code and reason.
---@param code? integer 1000-4999, default 1000
---@param reason? string at most 123 bytes
---@param wait? number
---@return integer? code
---@return string? reason
function WebSocket:close(code, reason, wait) end

---@return "connecting"|"open"|"closing"|"closed"
function WebSocket:state() end

---Bytes given to send() that the socket has not taken yet.
---@return integer
function WebSocket:buffered() end

---What ljhttp.info() returns.
---@class ljhttp.Info
---@field version string the Lua files' version
---@field library_version string the shared library's version
---@field abi_version integer
---@field curl_version string
---@field library_path string where the library was loaded from
---@field tls_backend? string libcurl's TLS library and version ("OpenSSL/3.0.11")
---@field features table<string, true> libcurl's features: http2, http3, ws, libz, brotli, zstd, unixsockets, ...
---@field curl_features string the same, as ljh_curl_features() words

---@class ljhttp.SetupOptions
---@field library? string path of libljhttp.so

---Options of ljhttp.build() (`make` in the plugin's directory).
---@class ljhttp.BuildOptions
---@field root? string the directory to run make in (default: the checkout of the Lua files)
---@field make? string the make program (default: $MAKE or "make")
---@field args? string[] more arguments for make
---@field wait? boolean block and return ok, output even in Neovim
---@field notify? boolean Neovim: report the outcome through vim.notify (default true)
---@field on_exit? fun(ok: boolean, output: string) Neovim: called when make ended

---ljhttp.json: JSON through cJSON.
---@class ljhttp.json
---@field null table the JSON null sentinel
---@field empty_array table encodes as []
---@field array_mt table the metatable of decoded arrays
---@field MAX_DEPTH integer
local json = {}

---@param s string
---@return any value
---@return string? err
---@return "json"? code
function json.decode(s) end

---@param v any
---@return string? text
---@return string? err
---@return "json"? code
function json.encode(v) end

---@generic T: table
---@param t? T
---@return T
function json.array(t) end

---@param t any
---@return boolean
function json.is_array(t) end
