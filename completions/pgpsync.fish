# fish completion for pgpsync; asks the binary (pgpsync __complete).

function __pgpsync_cmd
	set -l tok (commandline -opc)
	set -l cmd
	set -l verb
	for t in $tok[2..-1]
		string match -q -- '-*' $t; and continue
		if test -z "$cmd"
			set cmd $t
		else if test -z "$verb"; and test -n "(pgpsync __complete verbs $cmd 2>/dev/null)"
			set verb $t
		end
	end
	echo $cmd $verb
end

function __pgpsync_need_command
	test -z (__pgpsync_cmd)
end

function __pgpsync_need_verb
	set -l cv (string split ' ' -- (__pgpsync_cmd))
	test (count $cv) -ge 1; and test -n "$cv[1]"; or return 1
	set -l verbs (pgpsync __complete verbs $cv[1] 2>/dev/null)
	test -n "$verbs"; and test (count $cv) -lt 2 -o -z "$cv[2]"
end

function __pgpsync_verbs
	set -l cv (string split ' ' -- (__pgpsync_cmd))
	pgpsync __complete verbs $cv[1] 2>/dev/null
end

function __pgpsync_options
	set -l cv (string split ' ' -- (__pgpsync_cmd))
	pgpsync __complete options $cv 2>/dev/null
end

function __pgpsync_want_option
	string match -q -- '-*' (commandline -ct)
end

complete -c pgpsync -f -n __pgpsync_need_command -a '(pgpsync __complete commands 2>/dev/null)'
complete -c pgpsync -f -n __pgpsync_need_verb -a '(__pgpsync_verbs)'
complete -c pgpsync -f -n 'not __pgpsync_need_command; and __pgpsync_want_option' -a '(__pgpsync_options)'
complete -c pgpsync -n 'not __pgpsync_need_command; and not __pgpsync_need_verb' -a '(__fish_complete_path)'
complete -c pgpsync -f -n '__fish_seen_subcommand_from diff; and not __pgpsync_want_option' -a 'gpg: store: hkps:// hkp:// vks://' -d 'key set'
