#!/usr/bin/env bash
# Seeds the fuzz corpora with every .flow file in the repository.
# Run from anywhere: `bash fuzz/seed.sh`. Files are named after their path
# (tests/check/foo.flow -> tests_check_foo.flow), so re-running is idempotent.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$fuzz_dir")"

for target in check parse; do
    mkdir -p "$fuzz_dir/corpus/$target"
done

count=0
while IFS= read -r -d '' file; do
    rel="${file#"$repo"/}"
    name="${rel//\//_}"
    for target in check parse; do
        cp "$file" "$fuzz_dir/corpus/$target/$name"
    done
    count=$((count + 1))
done < <(find "$repo/tests" "$repo/stdlib" "$repo/examples" -name '*.flow' -type f -print0 2>/dev/null)

echo "seeded $count .flow files into $fuzz_dir/corpus/{check,parse}"
