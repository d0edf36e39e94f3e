#!/bin/sh
# Runs every fuzz target for 10 minutes, one after the other, on one core;
# logs go to fuzz/logs/<target>.log. From the repository root:
#   sh fuzz/run-all.sh            # 600 s each
#   sh fuzz/run-all.sh 60 labels  # 60 s, one target
set -u
cd "$(dirname "$0")"
seconds=${1:-600}
shift 2>/dev/null
targets=${*:-"decoders labels json property_text tracker model_metadata"}
mkdir -p logs
for target in $targets; do
    extra=""
    [ -d "seeds/$target" ] && extra="seeds/$target"
    dict=""
    [ -f "dict/$target.dict" ] && dict="-dict=dict/$target.dict"
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run "$target" --jobs 1 "corpus/$target" $extra -- \
        $dict -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
        > "logs/$target.log" 2>&1
    echo "$target: exit $?, $(grep -c . "logs/$target.log") log lines"
done
