# bash completion for pgpsync.  Commands, verbs and options come from the
# binary itself (pgpsync __complete), so they never drift from the code.

_pgpsync()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local i cmd= verb= ci=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${words[i]}; ci=$i
			elif [[ -z $verb ]] && [[ -n $(pgpsync __complete verbs "$cmd" 2>/dev/null) ]]; then
				verb=${words[i]}
			fi
			;;
		esac
	done

	case $prev in
	-o|--output|--fingerprints|--exclude|--svg|--png)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--homedir)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(pgpsync __complete global 2>/dev/null)" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(pgpsync __complete commands 2>/dev/null)" -- "$cur"))
		fi
		return
	fi
	local verbs
	verbs=$(pgpsync __complete verbs "$cmd" 2>/dev/null)
	if [[ -n $verbs && -z $verb ]]; then
		COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(pgpsync __complete options "$cmd" $verb 2>/dev/null)" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
	# diff: key sets that are not files, a keyserver as the second
	[[ $cmd == diff ]] &&
		COMPREPLY+=($(compgen -W "gpg: store: hkps:// hkp:// vks://" -- "$cur"))
}
complete -o filenames -F _pgpsync pgpsync
