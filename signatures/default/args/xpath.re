# XPath injection: breaking out of a predicate into a union of node sets.
#@ category: xpath
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: XPath injection: predicate breakout
['"]\s*\]\s*\|\s*/{1,2}[\w*@]
\|\s*//\*\s*\[\s*['"]
# A quote, then and/or and an XPath function. Here rather than in args/sqli.re, whose
# replaceComments transform wiped everything after a `/*`, a path step in XPath
# (x') or contains(name(/*[1]),'u') and ('). contains/substring/not are also OData filter
# functions (startswith(Name,'A') or contains(Description,'select')): after them an and/or
# must reopen a quote later, as an injection must to rebalance the query's own.
#@ message: XPath injection: quote then boolean function
['"]\s*\)*\s*(?:or|and)\s+(?:count|name|string-length|starts-with|local-name)\s*\(|['"]\s*\)*\s*(?:or|and)\s+(?:contains|substring|not)\s*\(.{0,120}?\b(?:or|and)\s*\(*\s*['"]
#@ message: XPath injection: predicate breakout after a closing parenthesis
['"]\s*\)+\s*\]\s*\|\s*/{1,2}[\w*@]
