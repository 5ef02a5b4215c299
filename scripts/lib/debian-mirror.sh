# shellcheck shell=bash
# debian_mirror prints the Debian archive URI this machine's apt already uses,
# so that scripts needing another suite never hard-code a mirror.
debian_mirror() {
	local uri
	uri=$(
		{
			grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
				awk '$0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}'
			grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | awk '{print $2}'
		} | grep -E '/debian/?$' | head -n1
	)
	if [ -z "$uri" ]; then
		echo "cannot find a Debian mirror in /etc/apt/sources.list{,.d}; add one and retry" >&2
		return 1
	fi
	echo "${uri%/}"
}
