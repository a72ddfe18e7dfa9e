<?php
/**
 * Keap REST v2 (`X-Keap-API-Key`, a service account key) and the campaign's *Send HTTP Post*:
 * name/value pairs, form-encoded, with `contactId` in camelCase.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

final class Keap implements Crm
{
    public function authorized(Request $r, array $credentials): bool
    {
        return hash_equals($credentials['api_key'], $r->header('x-keap-api-key'));
    }

    public function refused(Request $request, array $crm): Answer
    {
        // Keap's v2 `Error` schema: {code, message, status, details}. The exact words for a bad key
        // are not documented; the shape is.
        return Answer::json(401, ['code' => 401, 'message' => 'Invalid API key', 'status' => 'UNAUTHENTICATED', 'details' => []]);
    }

    public function route(Request $r, array &$crm, array &$state): Answer
    {
        $p = $r->path;
        if ($r->method === 'GET' && preg_match('#^/v2/contacts/(\d+)$#', $p, $m)) {
            return missing($crm, $m[1]) ? $this->notFound($m[1]) : Answer::json(200, $this->contact($m[1], $crm['contacts'][$m[1]]));
        }
        if ($r->method === 'GET' && $p === '/v2/contacts') {
            $filter = (string) ($r->query['filter'] ?? '');
            $email = str_starts_with($filter, 'email==') ? strtolower(substr($filter, 7)) : '';
            // `email==` is exact, or a prefix match when the value ends in `*`.
            $prefix = str_ends_with($email, '*') ? substr($email, 0, -1) : null;
            $found = [];
            foreach ($crm['contacts'] as $id => $c) {
                $address = strtolower($c['email']);
                if ($email !== '' && ($prefix !== null ? str_starts_with($address, $prefix) : $address === $email)) {
                    $found[] = $this->contact((string) $id, $c);
                }
            }
            return Answer::json(200, ['contacts' => $found, 'next_page_token' => '']);
        }
        if ($r->method === 'PATCH' && preg_match('#^/v2/contacts/(\d+)$#', $p, $m)) {
            if (missing($crm, $m[1])) {
                return $this->notFound($m[1]);
            }
            // The list replaces the contact's custom fields: "any item not listed here will be
            // removed if it already exists" (CreateUpdateContactRequest.custom_fields).
            $body = $r->json() ?? [];
            if (array_key_exists('custom_fields', $body)) {
                $fields = [];
                foreach ((array) $body['custom_fields'] as $f) {
                    $fields[(string) $f['id']] = (string) $f['content'];
                }
                $crm['contacts'][$m[1]]['fields'] = $fields;
            }
            return Answer::json(200, $this->contact($m[1], $crm['contacts'][$m[1]]));
        }
        if ($r->method === 'GET' && preg_match('#^/v2/tags/(\d+)/contacts$#', $p, $m)) {
            // List Tagged Contacts: `page_size`, an opaque `page_token`, `next_page_token` ('' on the last page).
            if (!isset($crm['tags'][$m[1]])) {
                return Answer::json(404, ['code' => 404, 'message' => "Tag {$m[1]} not found", 'status' => 'NOT_FOUND', 'details' => []]);
            }
            $size = max(1, min(1000, (int) ($r->query['page_size'] ?? 1000)));
            $token = (string) ($r->query['page_token'] ?? '');
            $start = $token === '' ? 0 : (int) base64_decode(strtr($token, '-_', '+/'));
            $all = tagged($crm, $m[1]);
            $page = [];
            foreach (array_slice($all, $start, $size, true) as $id => $c) {
                $page[] = ['id' => (string) $id, 'email' => $c['email'], 'given_name' => $c['first_name'], 'family_name' => $c['last_name'], 'applied_time' => '2024-01-03T10:00:00Z'];
            }
            $next = $start + $size < count($all) ? rtrim(strtr(base64_encode((string) ($start + $size)), '+/', '-_'), '=') : '';
            return Answer::json(200, ['contacts' => $page, 'next_page_token' => $next]);
        }
        if ($r->method === 'GET' && $p === '/v2/tags') {
            $size = max(1, min(1000, (int) ($r->query['page_size'] ?? 1000)));
            $start = (int) ($r->query['page_token'] ?? 0);
            $tags = [];
            foreach ($crm['tags'] as $id => $name) {
                $tags[] = ['id' => (string) $id, 'name' => $name];
            }
            $next = $start + $size < count($tags) ? (string) ($start + $size) : '';
            return Answer::json(200, ['tags' => array_slice($tags, $start, $size), 'next_page_token' => $next]);
        }
        return Answer::json(404, ['code' => 404, 'message' => 'Not found', 'status' => 'NOT_FOUND', 'details' => []]);
    }

    private function notFound(string $id): Answer
    {
        return Answer::json(404, ['code' => 404, 'message' => "Contact $id not found", 'status' => 'NOT_FOUND', 'details' => []]);
    }

    private function contact(string $id, array $c): array
    {
        $custom = [];
        foreach ($c['fields'] as $field => $value) {
            $custom[] = ['id' => (string) $field, 'content' => $value];
        }
        return [
            'id' => (string) $id, 'given_name' => $c['first_name'], 'family_name' => $c['last_name'],
            'email_addresses' => [['email' => $c['email'], 'field' => 'EMAIL1', 'email_opt_status' => 'SINGLE_OPT_IN']],
            // Every id in Keap's v2 schema is a string: the contact's, its tags', its custom fields'.
            'custom_fields' => $custom, 'tag_ids' => array_map('strval', $c['tags']),
        ];
    }

    public function webhook(string $id, array $c, array $tagNames, array $contract, string $method): array
    {
        $data = ['contactId' => $id] + $contract + ['Email' => $c['email'], 'FirstName' => $c['first_name']];
        return ['method' => 'POST', 'query' => [], 'body' => http_build_query($data), 'content_type' => 'application/x-www-form-urlencoded'];
    }
}
