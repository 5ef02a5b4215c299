# shellcheck shell=bash
# cannot_run REASON: for checks that need this machine's kernel, root or a
# VM. Under CI=true a check that cannot run fails (a green CI that tested
# nothing is a defect); elsewhere it skips. The sourcing script defines
# log().
cannot_run() {
	if [ "${CI:-}" = true ]; then
		log "cannot run under CI: $*"
		exit 1
	fi
	log "skipped: $*"
	exit 0
}
