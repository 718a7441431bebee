# Local file inclusion: a value that IS a sensitive path (or reaches one). Paths are normalized
# (\ to /, . and .. resolved, // collapsed) and lowercased. A sensitive path merely mentioned in
# prose ("the /etc/passwd file", "tail -f /var/log/nginx/error.log") passes at PL1: the PL1
# patterns anchor at the value start, after '=' or after a scheme, or follow a traversal.
#@ category: lfi
#@ transforms: urlDecodeUni urlDecodeUni htmlEntityDecode removeNulls unicodeNormalize compressWhitespace normalizePathWin lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: LFI: value is a sensitive Unix file
^\s*etc/+(?:passwd|shadow|group|hosts|sudoers)\s*$
(?:^\s*|=\s*|file:/*|\.\./)(?:[a-z]:)?/+(?:\.+/+)*etc/+(?:passwd|shadow|master\.passwd|group|gshadow|sudoers|hosts|hostname|issue|motd|crontab|fstab|mtab|resolv\.conf|networks|profile|bashrc|environment|shells|security/|pam\.d/|ssh/|ssl/private|apache2?/|httpd/|nginx/|mysql/|php\d?/|init\.d/|cron\.d/|redis/|mongod\.conf|my\.cnf|ld\.so\.preload|shadow-)
(?:^\s*|=\s*|file:/*|\.\./)/*(?:proc|self)/+(?:self|thread-self|\d+)/+(?:environ|cmdline|fd|maps|mem|status|stat|cwd|root|exe|mounts|net/|sched_debug|attr)
(?:^\s*|=\s*|file:/*|\.\./)/*var/+(?:log/+(?:apache2?|httpd|nginx|auth\.log|syslog|messages|secure|mail|vsftpd|sshd|lastlog|wtmp|btmp)|mail/|spool/cron|lib/(?:mysql|php/sessions)|www/+(?:html/+)?(?:\.env|wp-config|config|\.htpasswd|\.git))
(?:^\s*|=\s*|file:/*|\.\./)/*(?:root|home/+[^/\s]+)/+\.(?:ssh/|bash_history|zsh_history|mysql_history|psql_history|aws/|kube/|docker/|gnupg/|netrc|pgpass|git-credentials|npmrc|bashrc|profile)
(?:^\s*|=\s*|file:/*|\.\./)~/\.(?:ssh/|aws/credentials|bash_history|kube/config|docker/config|netrc|pgpass|git-credentials|npmrc)
#@ message: LFI: value is a sensitive Windows file
(?:^\s*|=\s*|file:/*)[a-z]:/+(?:xampp|wamp\d*|apache\d?|php\d?|inetpub|mysql|logs|nginx|tomcat|program files(?: \(x86\))?|programdata|windows|winnt)/+[^\s]{0,200}\.(?:conf|cnf|ini|log|inc\.php|xml|txt|dat|sam|inf|config|properties)\s*$
(?:^\s*|=\s*|file:/*)[a-z]:/+(?:windows|winnt)/+(?:repair|system32|panther|debug)/+
(?:^\s*|=\s*|file:/*|\.\./|\?/)(?:[a-z]:)?/+(?:windows|winnt)/+(?:win\.ini|system\.ini|system32/+(?:drivers/+etc/|config/+(?:sam|system|security)|inetsrv/|cmd\.exe|license\.rtf)|repair/+(?:sam|system)|panther/+unattend|debug/+netsetup\.log|iis\d?\.log|php\.ini|ntds)
(?:^\s*|=\s*|file:/*|\.\./)(?:[a-z]:)?/*boot\.ini
(?:^\s*|=\s*|file:/*|\.\./)(?:[a-z]:)?/+inetpub/+(?:wwwroot|logs)/
(?:^\s*|=\s*|file:/*)(?:[a-z]:)?/+(?:program files|documents and settings|users)/+[^/]+/+(?:ntuser\.dat|appdata/|\.ssh/)
#@ message: LFI: Java web application secrets
(?:^|/|=)(?:web-inf|meta-inf)/+(?:web\.xml|classes/|lib/|applicationcontext\.xml|spring|jboss-web\.xml|manifest\.mf|context\.xml)
#@ message: LFI: value is an absolute path into a system directory
(?:^\s*|=\s*|file:/*)/+(?:etc|proc|boot|root|sys)/+[\w.-]
(?:^\s*|=\s*|file:/*)/+(?:var|usr|opt|srv|private|library)/+(?:[\w.-]+/+)*[\w.-]*(?:\.(?:conf|cnf|ini|log|pl|inf|dat|db|sqlite|pem|key|passwd|htpasswd|properties)|_log|/logs?/[\w.-]+)\s*$
^\s*/+(?:apache\d?|php\d?|xampp|lampp|wamp)/+[^\s]+\s*$
^\s*l2v0yy9
#@ message: LFI: value is a restricted file name
^\s*(?:[\w.~-]*/)*(?:\.env(?:\.(?:local|production|prod|dev|development|staging|stage|test|bak|backup|old|save|orig|\d))?|wp-config\.php[\w.~-]*|\.htpasswd|\.htaccess|web\.config|\.git/(?:config|head|index|logs/)|\.aws/credentials|id_rsa|id_dsa|id_ecdsa|id_ed25519|\.bash_history|\.npmrc|\.pgpass|\.netrc|\.git-credentials|\.docker/config\.json|\.kube/config)\s*$
#@ paranoia: 2
#@ severity: error
#@ message: LFI (PL2): sensitive path mentioned anywhere
/etc/+(?:passwd|shadow|sudoers|group)\b
/proc/+self/
(?:[a-z]:)?/+windows/+(?:win\.ini|system32/)
#@ paranoia: 1
#@ severity: critical
#@ message: LFI: value is a Windows server log or configuration path
(?:^\s*|=\s*|file:/*)[a-z]:/+(?:opt/+)?(?:xampp|lampp|wamp\d*|apache\d?|appserv|inetpub)/+(?:[\w.-]+/+)*(?:access|error)_log\s*$
# (Windows server directories with spaces in the path: blocked agents' and backup tools' own settings)
(?:^\s*|=\s*|file:/*)[a-z]:/+(?:windows/+(?:panther/+|system32/+sysprep/+)?)?(?:sysprep\.(?:inf|xml)|unattend(?:ed)?\.(?:txt|xml))\s*$
#@ message: LFI: value is a path into an ssh directory
^\s*/+\.ssh/+(?:authorized_keys\d?|id_(?:rsa|dsa|ecdsa|ed25519)|known_hosts|config)\b
