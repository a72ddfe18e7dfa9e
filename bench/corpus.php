<?php
/**
 * The benchmark's webhooks: one realistic request per CRM wire format (docs/wire-formats.md), and two large
 * ones — a FluentCRM subscriber with 500 custom_values and an ActiveCampaign contact with 1,000
 * tags. Each comes with the normalized contact the map step is given.
 *
 * @return array<string, array{crm: string, request: array, contact: array}>
 */

declare(strict_types=1);

const BENCH_KEY = 'Bq7Lm2Np9Rs4Tv6Wx8Yz1Ac3De5Fg0Hj';

function bench_corpus(): array
{
    $q = static fn (string $action, array $extra = []) => http_build_query(['wpf_action' => $action, 'access_key' => BENCH_KEY] + $extra);
    $contact = static fn (string $id, string $email, array $fields = [], array $tags = []) => [
        'id' => $id, 'email' => $email, 'first_name' => 'María', 'last_name' => 'García', 'fields' => $fields, 'tags' => $tags,
    ];

    $acTags = ['VIP', 'Newsletter', 'Customer - Gold'];
    $ac = [
        'type' => 'contact_tag_added', 'date_time' => '2024-05-14T09:30:12-05:00', 'initiated_by' => 'admin', 'initiated_from' => 'admin',
        'contact' => ['id' => '1187', 'email' => 'maria.garcia+shop@example.com', 'first_name' => 'María', 'last_name' => 'García',
            'phone' => '+1 512 555 0143', 'tags' => implode(', ', $acTags), 'fields' => ['4' => 'Gold', 'birthday' => '1990-04-02']],
    ];
    $manyTags = array_map(static fn ($i) => "Course $i", range(1, 1000));
    $acLarge = $ac;
    $acLarge['contact']['tags'] = implode(', ', $manyTags);

    $fluent = static function (int $fields): array {
        $custom = [];
        for ($i = 1; $i <= $fields; $i++) {
            $custom["field_$i"] = "value number $i";
        }
        return ['id' => 55, 'email' => 'cy.ng@example.com', 'first_name' => 'Cy', 'last_name' => 'Ng', 'status' => 'subscribed',
            'tags' => [['id' => 3, 'title' => 'VIP', 'slug' => 'vip'], ['id' => 9, 'title' => 'Lead', 'slug' => 'lead']],
            'lists' => [['id' => 1, 'title' => 'Main']], 'custom_values' => $custom];
    };
    $fluentSmall = $fluent(8);
    $fluentLarge = $fluent(500);
    $ck = ['subscriber' => ['id' => 1234567, 'first_name' => 'Bo', 'email_address' => 'bo.lee@example.com', 'state' => 'active',
        'created_at' => '2024-01-02T10:00:00Z', 'fields' => ['last_name' => 'Lee', 'plan' => 'pro']]];

    return [
        'activecampaign' => ['crm' => 'activecampaign',
            'request' => ['method' => 'POST', 'query' => $q('add'), 'body' => http_build_query($ac), 'content_type' => 'application/x-www-form-urlencoded', 'headers' => []],
            'contact' => $contact('1187', 'maria.garcia+shop@example.com', ['4' => 'Gold', 'birthday' => '1990-04-02'], $acTags)],
        'convertkit' => ['crm' => 'convertkit',
            'request' => ['method' => 'POST', 'query' => $q('update'), 'body' => json_encode($ck), 'content_type' => 'application/json', 'headers' => []],
            'contact' => $contact('1234567', 'bo.lee@example.com', ['last_name' => 'Lee', 'plan' => 'pro'], ['11', '12'])],
        'kit' => ['crm' => 'kit',
            'request' => ['method' => 'POST', 'query' => $q('add'), 'body' => json_encode(['subscriber_id' => 7654321] + $ck), 'content_type' => 'application/json', 'headers' => []],
            'contact' => $contact('1234567', 'bo.lee@example.com', ['plan' => 'pro'], ['11'])],
        'fluentcrm' => ['crm' => 'fluentcrm',
            'request' => ['method' => 'POST', 'query' => $q('update_tags'), 'body' => json_encode($fluentSmall), 'content_type' => 'application/json', 'headers' => []],
            'contact' => $contact('55', 'cy.ng@example.com', $fluentSmall['custom_values'], ['3', '9'])],
        'funnelkit' => ['crm' => 'funnelkit',
            'request' => ['method' => 'GET', 'query' => $q('add', ['contact_id' => '4411', 'send_notification' => 'true', 'role' => 'customer']), 'body' => '', 'content_type' => '', 'headers' => []],
            'contact' => $contact('4411', 'dee.park@example.com', ['5' => 'x'], ['2'])],
        'keap' => ['crm' => 'keap',
            'request' => ['method' => 'POST', 'query' => '', 'body' => http_build_query(['contactId' => '88', 'wpf_action' => 'add', 'access_key' => BENCH_KEY, 'Email' => 'li.wei@example.com', 'FirstName' => 'Li']), 'content_type' => 'application/x-www-form-urlencoded', 'headers' => []],
            'contact' => $contact('88', 'li.wei@example.com', ['12' => 'Gold'], ['101', '102'])],
        'fluentcrm-500-fields' => ['crm' => 'fluentcrm', 'large' => true,
            'request' => ['method' => 'POST', 'query' => $q('update'), 'body' => json_encode($fluentLarge), 'content_type' => 'application/json', 'headers' => []],
            'contact' => $contact('55', 'cy.ng@example.com', $fluentLarge['custom_values'], ['3', '9'])],
        'activecampaign-1000-tags' => ['crm' => 'activecampaign', 'large' => true,
            'request' => ['method' => 'POST', 'query' => $q('update_tags'), 'body' => http_build_query($acLarge), 'content_type' => 'application/x-www-form-urlencoded', 'headers' => []],
            'contact' => $contact('1187', 'maria.garcia+shop@example.com', [], $manyTags)],
    ];
}

/** The site's options for the map step: a realistic field map, roles with their capabilities. */
function bench_options(): array
{
    $roles = [
        'administrator' => ['manage_options' => true, 'edit_users' => true, 'read' => true],
        'editor' => ['edit_posts' => true, 'unfiltered_html' => true, 'read' => true],
        'subscriber' => ['read' => true],
        'customer' => ['read' => true],
    ];
    $map = ['4' => 'membership_level', 'birthday' => 'birthday', 'plan' => 'plan', '12' => 'level', 'user_login_field' => 'user_login'];
    for ($i = 1; $i <= 20; $i++) {
        $map["field_$i"] = "fluent_field_$i";
    }
    return ['field_map' => $map, 'username_format' => 'email', 'default_role' => 'subscriber',
        'allowed_roles' => ['subscriber', 'customer'], 'requested_role' => null, 'return_password_field' => '15', 'roles' => $roles];
}

/**
 * Times every side on every case, rounds interleaved and the order of the sides reversed on every
 * other round, so the machine's noise falls on all sides alike.
 *
 * @param array<string, array<string, mixed>> $corpus     name => case
 * @param array<string, callable>             $sides      side => fn(array $case)
 * @param list<string>                        $order      the sides, in the order of even rounds
 * @param array<string, int>                  $iterations name => calls per round
 * @return array<string, array<string, list<float>>> name => side => ns per call, one per round
 */
function bench_interleaved(array $corpus, array $sides, array $order, array $iterations, int $rounds): array
{
    $ns = [];
    for ($r = 0; $r < $rounds; $r++) {
        foreach ($corpus as $name => $case) {
            foreach ($r % 2 ? array_reverse($order) : $order as $side) {
                $run = $sides[$side];
                $t = hrtime(true);
                for ($i = 0; $i < $iterations[$name]; $i++) {
                    $run($case);
                }
                $ns[$name][$side][] = (hrtime(true) - $t) / $iterations[$name];
            }
        }
    }
    return $ns;
}

/** The median of a list of timings. */
function bench_median(array $xs): float
{
    sort($xs);
    return $xs[intdiv(count($xs), 2)];
}

/** "PHP 8.2.x, opcache on, JIT off": what a figure was measured on. */
function bench_php(): string
{
    $jit = ini_get('opcache.jit') && ini_get('opcache.jit_buffer_size') ? ini_get('opcache.jit') : 'off';
    return sprintf('PHP %s, opcache %s, JIT %s', PHP_VERSION, ini_get('opcache.enable_cli') ? 'on' : 'off', $jit);
}
