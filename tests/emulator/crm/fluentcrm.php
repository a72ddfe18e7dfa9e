<?php
/**
 * FluentCRM's REST API on another WordPress site (`/wp-json/fluent-crm/v2`, HTTP Basic with an
 * application password) and its Outgoing Webhook: the full subscriber, as JSON.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

final class FluentCrm implements Crm
{
    private const BASE = '/wp-json/fluent-crm/v2';

    public function authorized(Request $r, array $credentials): bool
    {
        return wordpress_basic_auth($r, $credentials);
    }

    public function refused(): Answer
    {
        return wordpress_forbidden();
    }

    public function route(Request $r, array &$crm, array &$state): Answer
    {
        if (!str_starts_with($r->path, self::BASE . '/')) {
            return $this->noRoute();
        }
        $p = substr($r->path, strlen(self::BASE));
        if ($r->method === 'GET' && preg_match('#^/subscribers/(\d+)$#', $p, $m)) {
            // FluentCRM answers a missing subscriber with 422, not 404.
            return missing($crm, $m[1])
                ? Answer::json(422, ['message' => 'Subscriber not found'])
                : Answer::json(200, ['subscriber' => $this->subscriber($m[1], $crm['contacts'][$m[1]], $crm)]);
        }
        if ($r->method === 'GET' && $p === '/subscribers') {
            // A substring search, newest first, as FluentCRM's is.
            $search = strtolower((string) ($r->query['search'] ?? ''));
            $found = [];
            foreach (array_reverse($crm['contacts'], true) as $id => $c) {
                if ($search !== '' && str_contains(strtolower($c['email']), $search)) {
                    $found[] = $this->subscriber((string) $id, $c, $crm);
                }
            }
            return Answer::json(200, ['subscribers' => $this->paged($found, $r)]);
        }
        if ($r->method === 'PUT' && preg_match('#^/subscribers/(\d+)$#', $p, $m)) {
            if (missing($crm, $m[1])) {
                return Answer::json(422, ['message' => 'Subscriber not found']);
            }
            foreach ((array) ($r->json()['subscriber']['custom_values'] ?? []) as $key => $value) {
                $crm['contacts'][$m[1]]['fields'][(string) $key] = (string) $value;
            }
            return Answer::json(200, ['message' => 'Subscriber successfully updated', 'subscriber' => $this->subscriber($m[1], $crm['contacts'][$m[1]], $crm)]);
        }
        if ($r->method === 'GET' && $p === '/tags') {
            $tags = [];
            foreach ($crm['tags'] as $id => $title) {
                $tags[] = ['id' => (int) $id, 'title' => $title, 'slug' => strtolower(str_replace(' ', '-', $title))];
            }
            return Answer::json(200, ['tags' => $this->paged($tags, $r)]);
        }
        return $this->noRoute();
    }

    /** WordPress's own answer for a route nobody registered (FluentCRM not active). */
    private function noRoute(): Answer
    {
        return Answer::json(404, ['code' => 'rest_no_route', 'message' => 'No route was found matching the URL and request method.', 'data' => ['status' => 404]]);
    }

    /** Laravel's paginator, as FluentCRM answers lists. */
    private function paged(array $items, Request $r): array
    {
        $per = max(1, (int) ($r->query['per_page'] ?? 15));
        $page = max(1, (int) ($r->query['page'] ?? 1));
        return ['current_page' => $page, 'data' => array_slice($items, ($page - 1) * $per, $per), 'per_page' => $per,
            'last_page' => max(1, (int) ceil(count($items) / $per)), 'total' => count($items)];
    }

    private function subscriber(string $id, array $c, array $crm): array
    {
        return [
            'id' => (int) $id, 'email' => $c['email'], 'first_name' => $c['first_name'], 'last_name' => $c['last_name'],
            'full_name' => trim($c['first_name'] . ' ' . $c['last_name']), 'status' => 'subscribed', 'phone' => $c['phone'],
            'tags' => array_map(static fn ($t) => ['id' => (int) $t, 'title' => $crm['tags'][(string) $t] ?? "Tag $t", 'slug' => 'tag-' . $t], $c['tags']),
            'lists' => [['id' => 1, 'title' => 'Main list', 'slug' => 'main-list']],
            // PHP encodes an empty associative array as [], and FluentCRM is PHP.
            'custom_values' => $c['fields'] ?: [],
        ];
    }

    public function webhook(string $id, array $c, array $tagNames, array $contract, string $method): array
    {
        $crm = ['tags' => array_combine(array_map('strval', $c['tags']), $tagNames ?: array_map('strval', $c['tags']))];
        return ['method' => 'POST', 'query' => $contract, 'body' => json_encode($this->subscriber($id, $c, $crm)), 'content_type' => 'application/json'];
    }
}
