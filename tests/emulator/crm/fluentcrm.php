<?php
/**
 * FluentCRM's REST API on another WordPress site (`/wp-json/fluent-crm/v2`, HTTP Basic with an
 * application password) and FluentCRM Pro's Outgoing Webhook, answering as the real FluentCRM
 * 2.9 does (docs/crms.md lists each behaviour and the test that holds it):
 *
 * - routes are matched before auth: an unknown route is `rest_no_route` (404) whatever the
 *   credentials; a known route with bad credentials is `rest_forbidden` (401), and a real user
 *   without FluentCRM rights gets the same body with 403;
 * - `GET /subscribers/{id}` has the subscriber's columns, `tags` and `lists`; `custom_values`
 *   only with `with[]=subscriber.custom_values`; a missing id is 422 "Subscriber not found";
 * - `GET /subscribers/0?get_by_email=` is the exact lookup (422 when none); `GET /subscribers?
 *   search=` is a substring match over email, names and phone, newest first, 15 a page by
 *   default, in Laravel's paginator (`last_page: 0` when empty);
 * - `PUT /subscribers/{id}` stores the columns at the top of `subscriber` and, under
 *   `custom_values`, only defined custom fields: other keys are dropped without a word (200);
 *   a missing id is 404 "No query results for model…";
 * - with plain permalinks (`POST /_emulator/permalinks`), `/wp-json/…` answers WordPress's 301
 *   and then its front page; `?rest_route=/fluent-crm/v2/…` works either way.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

final class FluentCrm implements Crm
{
    private const BASE = '/wp-json/fluent-crm/v2';

    /** The subscriber's own columns: written at the top of `subscriber`. */
    private const COLUMNS = ['prefix', 'first_name', 'last_name', 'email', 'timezone', 'address_line_1', 'address_line_2',
        'postal_code', 'city', 'state', 'country', 'phone', 'status', 'contact_type', 'source', 'date_of_birth'];

    public function authorized(Request $r, array $credentials): bool
    {
        return wordpress_basic_auth($r, $credentials);
    }

    public function refused(Request $r, array $crm): Answer
    {
        if ($this->routeOf($r) === null) {
            return $this->noRoute();
        }
        $given = $r->basic();
        // A WordPress user whose password is right but who has no FluentCRM rights.
        $viewer = $given !== null && isset($crm['viewers'][$given[0]]) && hash_equals((string) $crm['viewers'][$given[0]], $given[1]);
        return Answer::json($viewer ? 403 : 401, ['code' => 'rest_forbidden', 'message' => 'Sorry, you are not allowed to do that.', 'data' => ['status' => $viewer ? 403 : 401]]);
    }

    /** The route below BASE, or null when FluentCRM registered no such route. */
    private function routeOf(Request $r): ?string
    {
        if (!str_starts_with($r->path, self::BASE . '/')) {
            return null;
        }
        $p = substr($r->path, strlen(self::BASE));
        $known = preg_match('#^/subscribers(/\d+)?$#', $p) === 1 || in_array($p, ['/tags', '/custom-fields/contacts'], true);
        return $known ? $p : null;
    }

    public function route(Request $r, array &$crm, array &$state): Answer
    {
        $p = $this->routeOf($r);
        if ($p === null) {
            return $this->noRoute();
        }
        if ($r->method === 'GET' && $p === '/subscribers/0' && isset($r->query['get_by_email'])) {
            $email = strtolower(trim((string) $r->query['get_by_email']));
            foreach ($crm['contacts'] as $id => $c) {
                if (strtolower($c['email']) === $email) {
                    return Answer::json(200, ['subscriber' => $this->subscriber((string) $id, $c, $crm, false)]);
                }
            }
            return Answer::json(422, ['message' => 'Subscriber not found']);
        }
        if ($r->method === 'GET' && preg_match('#^/subscribers/(\d+)$#', $p, $m)) {
            $with = (array) ($r->query['with'] ?? []);
            return missing($crm, $m[1])
                ? Answer::json(422, ['message' => 'Subscriber not found'])
                : Answer::json(200, ['subscriber' => $this->subscriber($m[1], $crm['contacts'][$m[1]], $crm, in_array('subscriber.custom_values', $with, true))]);
        }
        if ($r->method === 'GET' && $p === '/subscribers') {
            $search = strtolower((string) ($r->query['search'] ?? ''));
            $found = [];
            // Newest first: the highest id was created last.
            $ids = array_keys($crm['contacts']);
            rsort($ids, SORT_NUMERIC);
            $tags = array_map('strval', (array) ($r->query['tags'] ?? []));
            foreach ($ids as $id) {
                $c = $crm['contacts'][(string) $id];
                if ($tags && !array_intersect($tags, array_map('strval', $c['tags']))) {
                    continue;
                }
                $haystack = strtolower(implode(' ', [$c['email'], $c['first_name'], $c['last_name'], $c['phone']]));
                if ($search === '' || str_contains($haystack, $search)) {
                    $found[] = $this->subscriber((string) $id, $c, $crm, false);
                }
            }
            return Answer::json(200, ['subscribers' => $this->paged($found, $r, '/subscribers'), 'custom' => null]);
        }
        if ($r->method === 'PUT' && preg_match('#^/subscribers/(\d+)$#', $p, $m)) {
            if (missing($crm, $m[1])) {
                return Answer::json(404, ['message' => 'No query results for model [FluentCrm\\App\\Models\\Subscriber].']);
            }
            $given = (array) ($r->json()['subscriber'] ?? []);
            $contact = &$crm['contacts'][$m[1]];
            foreach (array_intersect_key($given, array_flip(self::COLUMNS)) as $column => $value) {
                if (in_array($column, ['email', 'first_name', 'last_name', 'phone'], true)) {
                    $contact[$column] = (string) $value;
                }
            }
            $defined = array_column($crm['custom_fields'] ?? [], 'slug');
            foreach ((array) ($given['custom_values'] ?? []) as $key => $value) {
                if (in_array((string) $key, $defined, true)) {
                    $contact['fields'][(string) $key] = is_array($value) ? implode(', ', $value) : (string) $value;
                }
            }
            $answer = $this->subscriber($m[1], $contact, $crm, false);
            unset($answer['tags'], $answer['lists']);
            return Answer::json(200, ['message' => 'Subscriber successfully updated', 'contact' => $answer, 'isDirty' => true, 'values' => []]);
        }
        if ($r->method === 'GET' && $p === '/tags') {
            $tags = [];
            foreach ($crm['tags'] as $id => $title) {
                $tags[] = ['id' => (int) $id, 'title' => $title, 'slug' => strtolower(str_replace(' ', '-', $title)), 'description' => ''];
            }
            return Answer::json(200, ['tags' => $this->paged($tags, $r, '/tags')]);
        }
        if ($r->method === 'GET' && $p === '/custom-fields/contacts') {
            return Answer::json(200, ['fields' => $crm['custom_fields'] ?? []]);
        }
        return $this->noRoute();
    }

    /** WordPress's own answer for a route nobody registered (FluentCRM not active). */
    private function noRoute(): Answer
    {
        return Answer::json(404, ['code' => 'rest_no_route', 'message' => 'No route was found matching the URL and request method.', 'data' => ['status' => 404]]);
    }

    /** Laravel's paginator, as FluentCRM answers lists: `last_page` is 0 for an empty list. */
    private function paged(array $items, Request $r, string $route): array
    {
        $per = max(1, (int) ($r->query['per_page'] ?? 15));
        $page = max(1, (int) ($r->query['page'] ?? 1));
        $total = count($items);
        $last = (int) ceil($total / $per);
        $data = array_slice($items, ($page - 1) * $per, $per);
        $url = static fn (int $n): string => self::BASE . "$route?page=$n";
        return [
            'total' => $total, 'per_page' => $per, 'current_page' => $page, 'last_page' => $last,
            'next_page_url' => $page < $last ? $url($page + 1) : null, 'prev_page_url' => $page > 1 ? $url($page - 1) : null,
            'from' => $data ? ($page - 1) * $per + 1 : null, 'to' => $data ? ($page - 1) * $per + count($data) : null,
            'data' => $data,
        ];
    }

    /** A subscriber as FluentCRM's API answers it: every column, in its order, numbers as the database keeps them. */
    private function subscriber(string $id, array $c, array $crm, bool $withCustomValues): array
    {
        $orNull = static fn (string $v): ?string => $v === '' ? null : $v;
        $subscriber = [
            'id' => (int) $id, 'user_id' => null, 'hash' => md5($c['email']), 'contact_owner' => null, 'company_id' => null,
            'prefix' => null, 'first_name' => $orNull($c['first_name']), 'last_name' => $orNull($c['last_name']), 'email' => $c['email'],
            'timezone' => null, 'address_line_1' => null, 'address_line_2' => null, 'postal_code' => null, 'city' => null,
            'state' => null, 'country' => null, 'ip' => null, 'latitude' => null, 'longitude' => null, 'total_points' => '0',
            'life_time_value' => '0', 'phone' => $orNull($c['phone']), 'status' => 'subscribed', 'contact_type' => 'lead',
            'source' => null, 'avatar' => null, 'date_of_birth' => null, 'created_at' => '2026-12-02 01:43:55',
            'last_activity' => null, 'updated_at' => '2026-12-02 01:43:55',
        ];
        if ($withCustomValues) {
            // Only defined fields; PHP encodes an empty associative array as [], and FluentCRM is PHP.
            $defined = array_column($crm['custom_fields'] ?? [], 'slug');
            $subscriber['custom_values'] = array_intersect_key($c['fields'], array_flip($defined)) ?: [];
        }
        $subscriber['full_name'] = trim($c['first_name'] . ' ' . $c['last_name']);
        $subscriber['photo'] = 'https://crm.example.com/wp-content/plugins/fluent-crm/assets/images/avatar.png';
        $subscriber['tags'] = array_map(static fn ($t) => ['id' => (int) $t, 'title' => $crm['tags'][(string) $t] ?? "Tag $t", 'slug' => 'tag-' . $t], $c['tags']);
        $subscriber['lists'] = [];
        return $subscriber;
    }

    /**
     * FluentCRM Pro's Outgoing Webhook with "Full Subscriber Data": the columns plus
     * `custom_field`; `tags` only when FluentCRM had loaded them (`$contract['tags_loaded']`).
     */
    public function webhook(string $id, array $c, array $tagNames, array $contract, string $method): array
    {
        $crm = ['tags' => array_combine(array_map('strval', $c['tags']), $tagNames ?: array_map('strval', $c['tags'])), 'custom_fields' => []];
        $body = $this->subscriber($id, $c, $crm, false);
        unset($body['lists']);
        if (empty($contract['tags_loaded'])) {
            unset($body['tags']);
        }
        unset($contract['tags_loaded']);
        $body['custom_field'] = $c['fields'] ?: [];
        return ['method' => 'POST', 'query' => $contract, 'body' => json_encode($body), 'content_type' => 'application/json'];
    }
}
