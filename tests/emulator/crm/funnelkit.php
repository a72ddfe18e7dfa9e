<?php
/**
 * FunnelKit Automations' REST API on another WordPress site (`/wp-json/autonami-app/`, HTTP Basic
 * with an application password) and its *Send Data → HTTP Request*: the URL contract as GET
 * query parameters (recommended) or a POST form.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

final class FunnelKit implements Crm
{
    private const BASE = '/wp-json/autonami-app';

    /** The emulator's largest page of tags (FunnelKit's is not documented). */
    public const MAX_PER_PAGE = 4;

    public function authorized(Request $r, array $credentials): bool
    {
        return wordpress_basic_auth($r, $credentials);
    }

    public function refused(Request $request, array $crm): Answer
    {
        return wordpress_forbidden();
    }

    public function route(Request $r, array &$crm, array &$state): Answer
    {
        $p = str_starts_with($r->path, self::BASE . '/') ? substr($r->path, strlen(self::BASE)) : '';
        if ($r->method === 'GET' && preg_match('#^/contacts/(\d+)$#', $p, $m)) {
            return missing($crm, $m[1])
                ? Answer::json(404, ['code' => 404, 'message' => 'Contact not found'])
                : Answer::json(200, ['code' => 200, 'result' => $this->contact($m[1], $crm['contacts'][$m[1]], $crm)]);
        }
        if ($r->method === 'GET' && $p === '/contacts' && isset($r->query['filters']['tags_any'])) {
            // The listing filtered by tag, as WP Fusion pages it: `limit`, `offset`,
            // `filters[tags_any][]`; newest first, with the count of all matches.
            $limit = max(1, min(100, (int) ($r->query['limit'] ?? 25)));
            $offset = max(0, (int) ($r->query['offset'] ?? 0));
            $any = array_map('strval', (array) $r->query['filters']['tags_any']);
            $found = [];
            foreach (array_reverse($crm['contacts'], true) as $id => $c) {
                if (array_intersect($any, array_map('strval', $c['tags']))) {
                    $found[] = $this->contact((string) $id, $c, $crm);
                }
            }
            return Answer::json(200, ['code' => 200, 'result' => array_slice($found, $offset, $limit), 'total_count' => count($found)]);
        }
        if ($r->method === 'GET' && $p === '/contacts') {
            // A substring search, newest first.
            $search = strtolower((string) ($r->query['search'] ?? ''));
            $found = [];
            foreach (array_reverse($crm['contacts'], true) as $id => $c) {
                if ($search !== '' && str_contains(strtolower($c['email']), $search)) {
                    $found[] = $this->contact((string) $id, $c, $crm);
                }
            }
            return Answer::json(200, ['code' => 200, 'result' => $found]);
        }
        if ($r->method === 'POST' && preg_match('#^/contacts/(\d+)/fields$#', $p, $m)) {
            if (missing($crm, $m[1])) {
                return Answer::json(404, ['code' => 404, 'message' => 'Contact not found']);
            }
            foreach ((array) ($r->json()['fields'] ?? []) as $key => $value) {
                $crm['contacts'][$m[1]]['fields'][(string) $key] = (string) $value;
            }
            return Answer::json(200, ['code' => 200, 'result' => $this->contact($m[1], $crm['contacts'][$m[1]], $crm)]);
        }
        if ($r->method === 'GET' && $p === '/tags') {
            // Paged with `limit`/`offset` (WP Fusion asks `?limit=100&offset=`). FunnelKit's own
            // default and largest page are not documented; the emulator's are small so tests see
            // more than one page.
            $limit = max(1, min(self::MAX_PER_PAGE, (int) ($r->query['limit'] ?? self::MAX_PER_PAGE)));
            $offset = max(0, (int) ($r->query['offset'] ?? 0));
            $tags = [];
            foreach ($crm['tags'] as $id => $name) {
                $tags[] = ['ID' => (string) $id, 'name' => $name];
            }
            return Answer::json(200, ['code' => 200, 'result' => array_slice($tags, $offset, $limit)]);
        }
        return Answer::json(404, ['code' => 'rest_no_route', 'message' => 'No route was found matching the URL and request method.', 'data' => ['status' => 404]]);
    }

    private function contact(string $id, array $c, array $crm): array
    {
        return [
            'id' => $id, 'email' => $c['email'], 'f_name' => $c['first_name'], 'l_name' => $c['last_name'], 'contact_no' => $c['phone'],
            'fields' => $c['fields'] ?: [],
            'tags' => array_map(static fn ($t) => ['ID' => (string) $t, 'name' => $crm['tags'][(string) $t] ?? "Tag $t"], $c['tags']),
        ];
    }

    public function webhook(string $id, array $c, array $tagNames, array $contract, string $method): array
    {
        $data = ['contact_id' => $id] + $contract;
        return $method === 'POST'
            ? ['method' => 'POST', 'query' => [], 'body' => http_build_query($data), 'content_type' => 'application/x-www-form-urlencoded']
            : ['method' => 'GET', 'query' => $data, 'body' => null, 'content_type' => null];
    }
}
