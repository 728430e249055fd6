#!/bin/sh
# run-corpus: replays every seed corpus through its fuzz target (make check runs this with
# cwd = build dir, JT_SRCDIR and JT_BUILDDIR absolute). A missing target binary or corpus
# directory is skipped with a line saying so; any failing run makes the script fail. The
# targets are listed in tests/fuzz/targets (one name a line, fuzz_<name> the program).

srcdir=${JT_SRCDIR:-.}
builddir=${JT_BUILDDIR:-.}
failed=0
ran=0

for name in $(cat "$srcdir/tests/fuzz/targets"); do
	bin=$builddir/tests/fuzz/fuzz_$name
	corpus=$srcdir/tests/fuzz/corpus/$name
	log=$builddir/tests/fuzz/fuzz_$name.corpus.log
	if [ ! -x "$bin" ]; then
		echo "SKIP fuzz_$name: no binary at $bin"
		continue
	fi
	if [ ! -d "$corpus" ]; then
		echo "SKIP fuzz_$name: no corpus directory at $corpus"
		continue
	fi
	# -runs=0 makes a libFuzzer build replay the corpus once; the plain driver ignores it.
	if "$bin" -runs=0 "$corpus" >"$log" 2>&1; then
		echo "PASS fuzz_$name ($corpus)"
		ran=$((ran + 1))
	else
		echo "FAIL fuzz_$name ($corpus), output:"
		sed 's/^/    /' "$log"
		failed=1
	fi
done

if [ "$ran" -eq 0 ] && [ "$failed" -eq 0 ]; then
	echo "run-corpus: no fuzz target was run"
fi
exit "$failed"
