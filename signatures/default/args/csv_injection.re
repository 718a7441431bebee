# CSV / spreadsheet formula injection: a value that a spreadsheet opening an export would run
# as a DDE command. Plain formulas (=SUM(A1:A3), =HYPERLINK("https://…")) are legitimate
# input to spreadsheet-backed apps and pass.
#@ category: csv-injection
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: CSV injection: a DDE formula that runs a program
# (line 9 removed: a program name then a pipe and a quote also reads markdown tables; line 12 needs DDE's 'topic'!item)
^\s*[=+\-@]?\s*dde\s*\(\s*["'][^"']{1,64}["']\s*[;,]\s*["']
\bddeauto\b\s+["']?[a-z]:\\
\b[a-z][a-z0-9_.]{0,30}\s*\|\s*'[^']{0,200}'\s*!\s*[\w$.]{0,16}[0-9'"]
