# bash completion for kiln                                    -*- shell-script -*-
# Commands from 'kiln --help', options from 'kiln CMD --help' (so they never go stale),
# values for the options that take a fixed set, files for the rest.

_kiln_commands()
{
	kiln --help 2>/dev/null | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }'
}

_kiln_options()
{
	# option lines start with blanks and a dash: "  -o, --output FILE   text"
	kiln "$1" --help 2>/dev/null | awk '/^ +-/ { for (i = 1; i <= NF; i++) { t = $i; sub(/,$/, "", t); sub(/=.*/, "", t)
		if (t ~ /^--?[a-zA-Z]/) print t; else break } }' | sort -u
}

_kiln()
{
	local cur prev words cword cmd i
	_init_completion -n = || return
	cmd=
	for ((i = 1; i < cword; i++)); do
		case "${words[i]}" in
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$(_kiln_commands) help --help --version" -- "$cur"))
		return
	fi
	# after "--" comes the command to run (kiln record -- CMD, stat, heap, lock, latency)
	for ((i = 1; i < cword; i++)); do
		if [[ ${words[i]} == -- ]]; then
			_command_offset $((i + 1))
			return
		fi
	done
	case "$cmd:$prev" in
	export:-f | export:--format)
		COMPREPLY=($(compgen -W "pprof speedscope firefox chrome folded json" -- "$cur"))
		return ;;
	report:--sort)
		COMPREPLY=($(compgen -W "self total" -- "$cur"))
		return ;;
	record:--call-graph)
		COMPREPLY=($(compgen -W "fp dwarf auto" -- "$cur"))
		return ;;
	query:--store)
		_filedir -d
		return ;;
	*:-o | *:--output | *:-i | *:--input | *:--baseline | *:--save-baseline | query:--import)
		_filedir
		return ;;
	help:*)
		COMPREPLY=($(compgen -W "$(_kiln_commands)" -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_kiln_options "$cmd")" -- "$cur"))
		return
	fi
	case "$cmd" in
	record | stat | heap | bench)
		# the command to run, right after kiln's command (kiln record ./prog)
		if [[ $prev == "$cmd" ]]; then
			COMPREPLY=($(compgen -c -- "$cur"))
			[[ $cur == */* || ${#COMPREPLY[@]} -eq 0 ]] && _filedir
		else
			_filedir
		fi
		;;
	*)
		_filedir
		;;
	esac
} &&
	complete -F _kiln kiln
