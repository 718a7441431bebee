# Format-string injection: printf conversions that read the stack (%x, %p) or write to memory
# (%n) strung together, a positional write (%1$n). Single
# placeholders ("%s", "50%") and templates with words between placeholders pass.
#@ category: format-string
#@ transforms: none
#@ severity: critical
#@ paranoia: 1
#@ message: Format-string injection: chained stack-reading or memory-writing conversions
(?:%(?:[-+ #]{1,3}[0-9]{0,3})?[hljztlq]{0,2}[xp][.|:_, ;-]{0,2}){4,}
%[0-9]{1,3}\$[0-9]{0,8}(?:hh?|ll?)?n
(?:%[0-9.]{0,8}s){6,}
(?:%[-+ #0]{0,3}[0-9]{0,3}(?:\.[0-9]{1,3})?[hljztlq]{0,2}[xps][.|:_, ;-]{0,2}){10,}
%[-+ #0]{0,3}[0-9.]{0,8}(?:hh?|ll?)?[xpsdu][.|:_, -]?%[-+ #0]{0,3}[0-9.]{0,8}(?:hh?|ll?)?n
%[0-9.]{0,8}(?:hh?|ll?)?n[.|:_, -]?%[0-9.]{0,8}(?:hh?|ll?)?n
(?:%0?8[hljztlq]{0,2}[xp][.|_, ;]{1,2}){3,}%0?8[hljztlq]{0,2}[xp]
