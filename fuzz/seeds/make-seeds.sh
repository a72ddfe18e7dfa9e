#!/usr/bin/env bash
# Writes the parse_webhook seeds in the target's input layout (fuzz_targets/parse_webhook.rs):
# byte 0 shape (bit 0: 0 POST / 1 GET; (b >> 1) % 5: 0 JSON, 1 form, 2 none, 3 text/plain,
# 4 multipart), byte 1 key mode (0x01 right key appended to the query, 0x03 in the header,
# 0x00 only what the input carries, 0x02 a wrong key in the header), byte 2 settings (0x00:
# the 32-character key, a 4096-byte limit; 0x10: the body as PHP's $_POST), then
# query 0xFF body, where a 0xFE byte stands for the configured key. ./make-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/parse_webhook"
KEY=$'\xfe'   # the target puts the configured key there

seed() { # name shape keymode settings query [body]
    { printf "\\x$2\\x$3\\x$4"; printf '%s' "$5"; if [ $# -ge 6 ]; then printf '\xff'; printf '%s' "$6"; fi; } > "$1"
}

seed activecampaign-form 02 01 00 'wpf_action=add' \
    'contact%5Bid%5D=42&contact%5Bemail%5D=ann%40example.com&contact%5Bfirst_name%5D=Ann&contact%5Btags%5D=VIP%2C+Gold&contact%5Bfields%5D%5B12%5D=x&initiated_from=admin'
seed convertkit-json 00 01 00 'wpf_action=update' \
    '{"subscriber":{"id":1234567,"first_name":"Bo","email_address":"bo@example.com","state":"active","fields":{"last_name":"Lee"}}}'
seed kit-v4-json 00 03 00 'wpf_action=add' '{"subscriber_id":"987654","id":1}'
seed fluentcrm-json 00 03 00 'wpf_action=update_tags' \
    '{"id":55,"email":"cy@example.com","first_name":"Cy","status":"subscribed","tags":[{"id":3,"title":"VIP","slug":"vip"}],"lists":[],"custom_values":{"plan":"gold","x":[1,2]}}'
seed funnelkit-get 01 01 00 'wpf_action=add&contact_id=77&send_notification=true&role=customer&async=false'
seed funnelkit-unfilled-merge-tag 01 01 00 'wpf_action=add&contact_id=%7B%7Bcontact_id%7D%7D'
seed funnelkit-json-key-in-body 00 00 00 '' "{\"wpf_action\":\"update\",\"access_key\":\"$KEY\",\"contact_id\":\"77\"}"
seed keap-form 02 00 00 '' \
    "contactId=88&wpf_action=add&access_key=$KEY&Email=di%40example.com&FirstName=Di&_Plan=gold&send_notification=true&role=customer"
seed multipart-post 08 01 10 'wpf_action=add' 'contactId=5&role=customer'
seed test-get 01 01 00 'wpf_action=test'
seed wrong-key-header 00 02 00 'wpf_action=test'
