package guard

import "strings"

// wrapper is a command that runs another one (env git …, timeout 5 git …):
// the guard strips it and inspects the wrapped command.
type wrapper struct {
	withArg map[string]bool // options that take a value
	// operands are the words between the options and the wrapped command
	// (timeout's duration, chroot's directory, flock's lock file).
	operands int
	// query options make it run nothing (command -v git only prints a path).
	query map[string]bool
	// assigns: NAME=value words before the command are skipped (env).
	assigns bool
	// split options take a string that is split into the argv (env -S).
	split map[string]bool
}

// wrappers are the command wrappers known by name.
var wrappers = map[string]wrapper{
	"env":          {withArg: set("-u", "--unset", "-C", "--chdir", "-S", "--split-string"), assigns: true, split: set("-S", "--split-string")},
	"command":      {query: set("-v", "-V")},
	"builtin":      {query: set("-v", "-V")},
	"exec":         {},
	"nohup":        {},
	"time":         {},
	"nice":         {withArg: set("-n", "--adjustment")},
	"ionice":       {withArg: set("-c", "-n", "-p")},
	"timeout":      {withArg: set("-s", "--signal", "-k", "--kill-after"), operands: 1},
	"stdbuf":       {withArg: set("-i", "-o", "-e")},
	"sudo":         {withArg: set("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U")},
	"doas":         {withArg: set("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U")},
	"xargs":        {withArg: set("-I", "-n", "-P", "-d", "-L", "-s", "-E", "-a", "--arg-file", "--delimiter", "--max-args", "--max-procs")},
	"unbuffer":     {},
	"strace":       {withArg: set("-o", "-e", "-p", "-s", "-u")},
	"ltrace":       {withArg: set("-o", "-e", "-p", "-s", "-u")},
	"watch":        {withArg: set("-n", "--interval")},
	"chroot":       {operands: 1},
	"setsid":       {},
	"flock":        {withArg: set("-w", "-E"), operands: 1},
	"chronic":      {},
	"caffeinate":   {},
	"proxychains":  {},
	"proxychains4": {},
	"torsocks":     {},
}

// stripWrapper drops a command wrapper and its own options, returning the
// wrapped argv.
func stripWrapper(name string, args []string) []string {
	w := wrappers[name]
	for _, a := range args {
		if w.query[a] {
			return nil
		}
	}
	i := 0
words:
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			i++
			break words
		case w.assigns && strings.Contains(a, "=") && !strings.HasPrefix(a, "-"):
			i++
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if w.split[a] && i+1 < len(args) {
				// env -S "git clone x": the string is split into argv.
				return append(strings.Fields(args[i+1]), args[i+2:]...)
			}
			if w.withArg[a] {
				i++
			}
			i++
		default:
			break words
		}
	}
	// An option missing its value (timeout -s) leaves i past the end.
	rest := args[min(i, len(args)):]
	return rest[min(w.operands, len(rest)):]
}
