# Stack traces and debug pages in a response body.
#@ category: data-leak
#@ transforms: none
#@ severity: critical
#@ paranoia: 1
#@ message: Stack trace leaked: Java
\bat\s+[\w$./]+\.[\w$<>]+\([\w$]+\.java:\d+\)\s+at\s+[\w$./]+\.[\w$<>]+\(
\bException in thread "[^"]+" [\w.$]+(?:Exception|Error)\b
#@ message: Stack trace leaked: Python
Traceback \(most recent call last\):
#@ message: Debug page leaked: Django / Flask / Werkzeug / Rails / Laravel
You're seeing this error because you have <code>DEBUG = True</code>
<title>[^<]{0,120}\(Werkzeug Debugger\)</title>
\bwerkzeug\.debug\b
<title>Action Controller: Exception caught</title>
\bWhoops\\Exception\\ErrorException\b
<title>Whoops! There was an error\.</title>
\bIlluminate\\(?:Database\\QueryException|Foundation\\)
#@ message: Error leaked: PHP
<b>(?:Fatal error|Parse error|Warning|Notice|Deprecated)</b>:\s.{0,300}? in <b>[^<]+</b> on line <b>\d+</b>
\b(?:PHP )?(?:Fatal error|Parse error): .{0,300}? in /[\w./-]+\.php(?::\d+| on line \d+)
\bStack trace:\s*#0 /[\w./-]+\.php\(\d+\)
#@ message: Error page leaked: ASP.NET
Server Error in '/[^']*' Application
<title>Runtime Error</title>
\[(?:HttpException|NullReferenceException|InvalidOperationException|SqlException) \(0x[0-9a-fA-F]+\)
\bat System\.Web\.\w+
#@ message: Stack trace leaked: Node.js / Ruby / Go / .NET
\bat Object\.<anonymous> \(
\bat (?:Module\._compile|Object\.Module\._extensions|process\.processTicksAndRejections|Layer\.handle \[as handle_request\]) \(
\bat [\w.<>$]+ \((?:/|[A-Z]:\\)[^)\s]+\.(?:js|ts|mjs|cjs):\d+:\d+\)\s+at [\w.<>$]+ \(
\.rb:\d+:in `[^']+'\s+(?:from\s+)?[\w./-]+\.rb:\d+:in `
\bgoroutine \d+ \[running\]:
\bpanic: runtime error:
\bat [\w.]+\.[\w<>]+\([^)]*\) in [A-Z]:\\[^:]+:line \d+
