#!/usr/bin/env bash
# Extracts the plugin's translatable strings into wordpress-plugin/crmhook/languages/crmhook.pot
# with GNU gettext's xgettext (there is no wp-cli here), using WordPress's translation functions
# as keywords. `scripts/make-pot.sh --check` writes nothing and fails when the committed .pot is
# not what the code holds (make test runs it), so a new string is never left out.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=wordpress-plugin/crmhook
pot="$plugin/languages/crmhook.pot"
out="$pot"
[ "${1:-}" = "--check" ] && out="$(mktemp)" && trap 'rm -f "$out"' EXIT

version="$(sed -n 's/^ \* Version: *//p' "$plugin/crmhook.php")"

# The extension's labels (CRM credentials, username formats) are shown by the plugin, which
# translates them: they are marked l10n("…") in the Rust source. Each such file is rewritten as PHP
# under target/pot/ with the same line numbers (l10n("x") becomes __( "x", … ) on the string's line),
# for xgettext to read with the plugin's files; the references then point back at the Rust source.
rust_files=()
while IFS= read -r rs; do
  mkdir -p "target/pot/$(dirname "$rs")"
  perl -0777 -ne 'my @out = ("<?php") x 1; my $n = () = /\n/g; push @out, ("") x $n;
    while (/\bl10n\(\s*("(?:[^"\\]|\\.)*")\s*,?\s*\)/g) {
      my ($text, $at) = ($1, $-[1]);
      my $line = (() = substr($_, 0, $at) =~ /\n/g);
      $out[$line] .= " __( $text, \x27crmhook\x27 );";
    }
    print join("\n", @out), "\n";' "$rs" >"target/pot/$rs"
  rust_files+=("../../target/pot/$rs")
done < <(grep -rlE '\bl10n\(\s*"' src | LC_ALL=C sort)

( cd "$plugin" && find . -name '*.php' -not -path './languages/*' | LC_ALL=C sort && printf '%s\n' "${rust_files[@]}" ) |
  (cd "$plugin" && xgettext --language=PHP --from-code=UTF-8 --files-from=- --output=- \
    --package-name=crmhook --package-version="$version" --msgid-bugs-address=https://github.com/crmhook/crmhook/issues \
    --add-comments=translators: --sort-by-file --no-wrap \
    --keyword=__ --keyword=_e --keyword=esc_html__ --keyword=esc_html_e --keyword=esc_attr__ --keyword=esc_attr_e \
    --keyword=_x:1,2c --keyword=_ex:1,2c --keyword=esc_html_x:1,2c --keyword=esc_attr_x:1,2c \
    --keyword=_n:1,2 --keyword=_nx:1,2,4c --keyword=_n_noop:1,2 --keyword=_nx_noop:1,2,3c) |
  # The header's date changes on every run: keep it out of the comparison and the diff.
  sed -e '/^"POT-Creation-Date:/d' -e 's#\.\./\.\./target/pot/#../../#g' -e 's/^# SOME DESCRIPTIVE TITLE./# crmhook: translatable strings of the WordPress plugin./' \
    -e 's/^"Content-Type: text\/plain; charset=CHARSET\\n"/"Content-Type: text\/plain; charset=UTF-8\\n"/' >"$out"

if [ "${1:-}" = "--check" ]; then
  # Compared without the `#: file:line` references, which move with every edit above a string.
  diff -u <(grep -v '^#:' "$pot") <(grep -v '^#:' "$out") >&2 || { echo "languages/crmhook.pot is stale: run scripts/make-pot.sh and commit it" >&2; exit 1; }
  echo "pot: languages/crmhook.pot holds every translatable string"
fi
