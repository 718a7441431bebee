# User-Agent strings of attack tools and vulnerability scanners. Ordinary HTTP libraries
# (curl, Wget, python-requests, Go-http-client, okhttp, axios, Java, libwww-perl) and search or
# SEO crawlers are NOT matched here.
#@ category: scanner
#@ transforms: none
#@ severity: critical
#@ paranoia: 1
#@ message: Scanner user agent: SQL injection tools
\bsqlmap\b
\bhavij\b
\bsqlninja\b
\bbsqlbf\b
\bpangolin\b
\bmarathon\s*tool\b
#@ message: Scanner user agent: web vulnerability scanners
\bnikto\b
\bacunetix\b
\bnessus\b
\bopenvas\b
\bnetsparker\b
\binvicti\b
\bappscan\b
\bwebinspect\b
\bw3af\b
\barachni\b
\bskipfish\b
\bwpscan\b
\bjoomscan\b
\bdroopescan\b
\bcmsmap\b
\bnuclei\b
\bjaeles\b
\bxsstrike\b
\bcommix\b
\bvega/\d
\bparos/\d
\bwebshag\b
(?:^|[^\w-])grabber/\d
\bnetcraft\s+web\s+server\s+survey\b
\bqualys\b
\bburp\s*(?:suite|collaborator)\b
#@ message: Scanner user agent: content discovery / fuzzers
\bdirbuster\b
\bgobuster\b
\bferoxbuster\b
\bdirsearch\b
\bffuf\b
\bfuzz\s+faster\s+u\s+fool\b
\bwfuzz\b
\bdirb/\d
\bdirb\b\s*$
\bwhatweb\b
\bmetasploit\b
#@ message: Scanner user agent: network scanners and brute-forcers
\bnmap\b
\bmasscan\b
\bzgrab\b
\bzmap\b
\bhydra\b
\bmedusa/\d
\bbrutus\b
\bl9(?:explore|tcpid|scan)\b
#@ message: Scanner user agent: known attack bots
\bzmeu\b
\bmorfeus\b
\bjorgee\b
\bzollard\b
\bblackwidow\b
\bmuieblackcat\b
\bfimap\b
