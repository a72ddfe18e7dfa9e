<?php
/**
 * The same work as crmhook_parse_webhook() + crmhook_map_contact(), in plain PHP, written the way
 * an idiomatic WordPress plugin would: parse_str, json_decode, hash_equals, preg_replace, arrays.
 * It is the baseline the extension is measured against (bench/webhooks.php checks both give the
 * same answers before timing them).
 */

declare(strict_types=1);

final class ReferenceWebhooks
{
    private const ACTIONS = ['test', 'add', 'update', 'update_tags'];
    private const DANGEROUS = ['manage_options', 'edit_users', 'promote_users', 'create_users', 'delete_users',
        'edit_plugins', 'install_plugins', 'activate_plugins', 'unfiltered_html'];
    private const ACCENTS = [
        'à' => 'a', 'á' => 'a', 'â' => 'a', 'ã' => 'a', 'ä' => 'a', 'å' => 'a', 'æ' => 'ae', 'ç' => 'c', 'è' => 'e', 'é' => 'e',
        'ê' => 'e', 'ë' => 'e', 'ì' => 'i', 'í' => 'i', 'î' => 'i', 'ï' => 'i', 'ñ' => 'n', 'ò' => 'o', 'ó' => 'o', 'ô' => 'o',
        'õ' => 'o', 'ö' => 'o', 'ø' => 'o', 'ù' => 'u', 'ú' => 'u', 'û' => 'u', 'ü' => 'u', 'ý' => 'y', 'ÿ' => 'y', 'ß' => 's',
    ];

    /** @return array<string, mixed> */
    public static function parse(array $request, array $settings): array
    {
        $expected = (string) ($settings['access_key'] ?? '');
        if ($expected === '') {
            throw new RuntimeException('no access key configured', 403);
        }
        $body = (string) ($request['body'] ?? '');
        if (strlen($body) > (int) ($settings['max_body_bytes'] ?? 1048576)) {
            throw new RuntimeException('body too large', 413);
        }
        parse_str((string) ($request['query'] ?? ''), $query);
        $form = [];
        $json = null;
        $type = strtolower(trim(explode(';', (string) ($request['content_type'] ?? ''))[0]));
        if (strtoupper((string) $request['method']) !== 'GET' && trim($body) !== '') {
            if (str_contains($type, 'json') || ($type === '' && ltrim($body)[0] === '{')) {
                $json = json_decode($body, true, 128);
                if (!is_array($json)) {
                    $json = false;
                }
            } else {
                parse_str($body, $form);
            }
        }
        $given = $request['headers']['x-crmhook-key'] ?? $query['access_key'] ?? $form['access_key'] ?? (is_array($json) ? ($json['access_key'] ?? '') : '');
        if (!is_string($given) || $given === '' || !hash_equals($expected, $given)) {
            throw new RuntimeException('wrong or missing access key', 403);
        }
        if ($json === false) {
            throw new RuntimeException('malformed JSON body', 400);
        }
        $param = static function (string $name) use ($query, $form, $json) {
            $value = $query[$name] ?? $form[$name] ?? (is_array($json) ? ($json[$name] ?? null) : null);
            if ($value !== null && !is_scalar($value)) {
                throw new RuntimeException("invalid $name", 400);
            }
            return $value === null ? null : (string) $value;
        };
        $action = strtolower(trim((string) $param('wpf_action')));
        if (!in_array($action, self::ACTIONS, true)) {
            throw new RuntimeException('unknown wpf_action', 400);
        }
        $crm = (string) $settings['crm'];
        $hook = ['action' => $action, 'crm' => $crm, 'contact_id' => null, 'email' => null, 'tags' => null, 'fields' => [],
            'role' => null, 'send_notification' => false, 'async' => null];
        if ($action === 'test') {
            return $hook;
        }

        [$id, $email, $tags, $fields] = self::payload($crm, $form, is_array($json) ? $json : []);
        $id = $param('contact_id') ?? $param('contactId') ?? $id;
        $id = trim((string) $id);
        if ($id === '') {
            throw new RuntimeException('no contact id', 422);
        }
        if (strlen($id) > 64 || !ctype_digit($id)) {
            throw new RuntimeException('invalid contact id', 400);
        }
        $email = $param('email') ?? $email;
        if ($email !== null && $email !== '') {
            $email = trim($email);
            if (strlen($email) > 254 || substr_count($email, '@') !== 1 || preg_match('/\s|^@|@$/', $email)) {
                throw new RuntimeException('invalid email', 400);
            }
        }
        $role = $param('role');
        if ($role !== null && trim($role) !== '') {
            $role = strtolower(trim($role));
            if (!preg_match('/^[a-z0-9_-]{1,64}$/', $role)) {
                throw new RuntimeException('invalid role', 400);
            }
        } else {
            $role = null;
        }
        $notify = $param('send_notification');
        $async = $param('async');
        foreach ($fields as $key => $value) {
            if (str_contains((string) $key, "\0") || str_contains((string) $value, "\0")) {
                throw new RuntimeException('NUL byte', 400);
            }
        }
        return ['contact_id' => $id, 'email' => $email === '' ? null : $email, 'tags' => $tags, 'fields' => $fields, 'role' => $role,
            'send_notification' => $notify === null ? false : self::boolean($notify), 'async' => $async === null ? null : self::boolean($async)] + $hook;
    }

    private static function boolean(string $value): bool
    {
        $v = strtolower(trim($value));
        if (in_array($v, ['true', '1', 'yes', 'on'], true)) {
            return true;
        }
        if (in_array($v, ['false', '0', 'no', 'off', ''], true)) {
            return false;
        }
        throw new RuntimeException('not a boolean', 400);
    }

    /** @return array{0: ?string, 1: ?string, 2: ?list<string>, 3: array<string, string>} */
    private static function payload(string $crm, array $form, array $json): array
    {
        switch ($crm) {
            case 'activecampaign':
                $c = is_array($form['contact'] ?? null) ? $form['contact'] : [];
                $fields = [];
                foreach (['first_name', 'last_name', 'phone'] as $k) {
                    if (isset($c[$k])) {
                        $fields[$k] = (string) $c[$k];
                    }
                }
                foreach ((array) ($c['fields'] ?? []) as $k => $v) {
                    $fields[(string) $k] = (string) $v;
                }
                $tags = isset($c['tags']) ? self::tags(explode(',', (string) $c['tags'])) : null;
                return [isset($c['id']) ? (string) $c['id'] : null, isset($c['email']) ? (string) $c['email'] : null, $tags, $fields];
            case 'convertkit':
            case 'kit':
                $s = is_array($json['subscriber'] ?? null) ? $json['subscriber'] : [];
                $fields = isset($s['first_name']) ? ['first_name' => (string) $s['first_name']] : [];
                foreach ((array) ($s['fields'] ?? []) as $k => $v) {
                    if ($v !== null) {
                        $fields[(string) $k] = (string) $v;
                    }
                }
                $id = $s['id'] ?? $json['subscriber_id'] ?? $json['id'] ?? null;
                return [$id === null ? null : (string) $id, isset($s['email_address']) ? (string) $s['email_address'] : null, null, $fields];
            case 'fluentcrm':
                $fields = [];
                foreach (['first_name', 'last_name'] as $k) {
                    if (isset($json[$k])) {
                        $fields[$k] = (string) $json[$k];
                    }
                }
                foreach ((array) ($json['custom_values'] ?? []) as $k => $v) {
                    if ($v !== null) {
                        $fields[(string) $k] = is_array($v) ? implode(', ', $v) : (string) $v;
                    }
                }
                $tags = isset($json['tags']) ? self::tags(array_map(static fn ($t) => (string) (is_array($t) ? $t['id'] : $t), (array) $json['tags'])) : null;
                return [isset($json['id']) ? (string) $json['id'] : null, isset($json['email']) ? (string) $json['email'] : null, $tags, $fields];
            case 'keap':
                $fields = [];
                foreach (['FirstName' => 'first_name', 'LastName' => 'last_name', 'Phone1' => 'phone'] as $k => $to) {
                    if (isset($form[$k])) {
                        $fields[$to] = (string) $form[$k];
                    }
                }
                return [null, isset($form['Email']) ? (string) $form['Email'] : null, null, $fields];
            default:
                return [null, null, null, []];
        }
    }

    /** @return list<string> */
    private static function tags(array $tags): array
    {
        return array_values(array_unique(array_filter(array_map('trim', $tags), 'strlen')));
    }

    /** @return array<string, mixed> */
    public static function map(array $contact, array $options, ?array $user): array
    {
        $notices = [];
        $fields = (array) ($contact['fields'] ?? []);
        $mapped = static function (string $target) use ($options, $fields, $contact): ?string {
            foreach ((array) $options['field_map'] as $crm => $wp) {
                if ($wp === $target) {
                    $value = $fields[$crm] ?? ($contact[$crm] ?? null);
                    if ($value !== null && trim((string) $value) !== '') {
                        return trim((string) $value);
                    }
                }
            }
            return null;
        };
        $email = $mapped('user_email') ?? trim((string) $contact['email']);
        $first = $mapped('first_name') ?? trim((string) $contact['first_name']);
        $last = $mapped('last_name') ?? trim((string) $contact['last_name']);
        $userFields = array_filter(['first_name' => $first, 'last_name' => $last], 'strlen');
        $generated = false;
        $return = null;
        if ($user === null) {
            if ($email === '') {
                throw new RuntimeException('no email', 422);
            }
            $login = $mapped('user_login');
            $login = $login !== null && preg_match('/^[a-z0-9 _.\-@]{1,60}$/i', $login) ? $login : self::login($email);
            $password = $mapped('user_pass');
            if ($password === null) {
                $password = self::password(24);
                $generated = true;
                if (($options['return_password_field'] ?? '') !== '') {
                    $return = ['field' => $options['return_password_field'], 'value' => $password];
                }
            }
            $userFields = ['user_login' => $login, 'user_email' => $email, 'user_pass' => $password] + $userFields
                + ['display_name' => trim("$first $last") ?: $login, 'role' => self::role($options, $options['requested_role'] ?? $mapped('role'), $notices)];
        }
        $meta = [];
        foreach ((array) $options['field_map'] as $crm => $wp) {
            if (in_array($wp, ['user_login', 'user_pass', 'user_email', 'first_name', 'last_name', 'display_name', 'role'], true)) {
                continue;
            }
            if (preg_match('/(capabilities|user_level)$|^session_tokens$|_contact_id$/i', (string) $wp)) {
                $notices[] = "field $crm may not be written";
                continue;
            }
            if (array_key_exists($crm, $fields)) {
                $meta[$wp] = $fields[$crm];
            }
        }
        return ['op' => $user === null ? 'create' : 'update', 'user' => $userFields, 'meta' => $meta, 'tags' => self::tags((array) $contact['tags']),
            'password_generated' => $generated, 'return_password' => $return, 'notices' => $notices];
    }

    private static function login(string $email): string
    {
        $email = mb_strtolower(trim($email));
        $login = strtr($email, self::ACCENTS);
        $login = preg_replace('/[^\x00-\x7f]/', '', $login);
        $login = preg_replace('/[^a-z0-9_.\-@]/', '-', $login);
        if (!preg_match('/[a-z0-9]/', $login)) {
            return 'user-' . substr(hash('fnv1a64', $email), -10);
        }
        if (strlen($login) > 60) {
            $login = rtrim(substr($login, 0, 49), '.-_@ ') . '-' . substr(hash('fnv1a64', $email), -10);
        }
        return $login;
    }

    private static function role(array $options, ?string $requested, array &$notices): string
    {
        $dangerous = static function (string $role) use ($options): bool {
            foreach ((array) ($options['roles'][$role] ?? []) as $cap => $granted) {
                if ($granted && in_array($cap, self::DANGEROUS, true)) {
                    return true;
                }
            }
            return false;
        };
        $default = (string) $options['default_role'];
        if ($requested !== null && $requested !== '') {
            $allowed = $options['allowed_roles'] ? in_array($requested, $options['allowed_roles'], true) : $requested === $default;
            if (isset($options['roles'][$requested]) && !$dangerous($requested) && $allowed) {
                return $requested;
            }
            $notices[] = "role $requested refused";
        }
        return isset($options['roles'][$default]) && !$dangerous($default) ? $default : 'subscriber';
    }

    private static function password(int $length): string
    {
        $alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
        do {
            $password = '';
            for ($i = 0; $i < $length; $i++) {
                $password .= $alphabet[random_int(0, 61)];
            }
        } while (!preg_match('/[A-Z]/', $password) || !preg_match('/[a-z]/', $password) || !preg_match('/\d/', $password));
        return $password;
    }
}
