# CSV / spreadsheet formula injection: a value that a spreadsheet opening an export would run
# as a DDE command. Plain formulas (=SUM(A1:A3), =HYPERLINK("https://…")) are legitimate
# input to spreadsheet-backed apps and pass.
#@ category: csv-injection
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: CSV injection: a DDE formula that runs a program
^\s*[=+\-@].{0,128}?\b(?:cmd|msexcel|excel|powershell|pwsh|mshta|rundll32|regsvr32|certutil|wscript|cscript|msiexec|bitsadmin|calc|notepad|winword)(?:\.exe)?\s*\|\s*['"]
^\s*[=+\-@]\s*dde\s*\(\s*["'][^"']{1,64}["']\s*[;,]
\bddeauto\b\s+["']?[a-z]:\\
\b(?:cmd|msexcel|powershell|pwsh|mshta|rundll32|regsvr32|certutil|wscript|cscript|msiexec)(?:\.exe)?\s*\|\s*'[^']{0,200}'\s*!\s*[a-z_$]{0,3}[0-9'"]
