<?php
/**
 * ActiveCampaign API v3 (`Api-Token` header) and its form-encoded webhook with bracket keys.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

final class ActiveCampaign implements Crm
{
    public function authorized(Request $request, array $credentials): bool
    {
        return hash_equals($credentials['api_key'], $request->header('api-token'));
    }

    public function refused(Request $request, array $crm): Answer
    {
        return Answer::json(403, ['message' => 'Forbidden']);
    }

    public function route(Request $r, array &$crm, array &$state): Answer
    {
        if ($r->method === 'GET' && preg_match('#^/api/3/contacts/(\d+)$#', $r->path, $m)) {
            return missing($crm, $m[1]) ? $this->noContact($m[1]) : Answer::json(200, $this->contact($m[1], $crm['contacts'][$m[1]]));
        }
        if ($r->method === 'GET' && $r->path === '/api/3/contacts' && isset($r->query['tagid'])) {
            // `tagid` filters by tag; `limit` (at most 100) and `offset` page; `meta.total` counts all.
            $limit = min(100, max(1, (int) ($r->query['limit'] ?? 20)));
            $offset = max(0, (int) ($r->query['offset'] ?? 0));
            $all = tagged($crm, (string) $r->query['tagid']);
            $page = [];
            foreach (array_slice($all, $offset, $limit, true) as $id => $c) {
                $page[] = $this->contact((string) $id, $c)['contact'];
            }
            return Answer::json(200, ['scoreValues' => [], 'contacts' => $page, 'meta' => ['total' => (string) count($all), 'page_input' => ['tagid' => (int) $r->query['tagid'], 'limit' => $limit, 'offset' => $offset]]]);
        }
        if ($r->method === 'GET' && $r->path === '/api/3/contacts') {
            $email = strtolower((string) ($r->query['email'] ?? ''));
            $found = [];
            foreach ($crm['contacts'] as $id => $c) {
                if (strtolower($c['email']) === $email) {
                    $found[] = $this->contact((string) $id, $c)['contact'];
                }
            }
            return Answer::json(200, ['contacts' => $found, 'meta' => ['total' => (string) count($found)]]);
        }
        if ($r->method === 'PUT' && preg_match('#^/api/3/contacts/(\d+)$#', $r->path, $m)) {
            if (missing($crm, $m[1])) {
                return $this->noContact($m[1]);
            }
            foreach ($r->json()['contact']['fieldValues'] ?? [] as $fv) {
                $crm['contacts'][$m[1]]['fields'][(string) $fv['field']] = (string) $fv['value'];
            }
            return Answer::json(200, $this->contact($m[1], $crm['contacts'][$m[1]]));
        }
        if ($r->method === 'GET' && $r->path === '/api/3/tags') {
            $limit = min(100, max(1, (int) ($r->query['limit'] ?? 20)));
            $offset = max(0, (int) ($r->query['offset'] ?? 0));
            $all = [];
            foreach ($crm['tags'] as $id => $name) {
                $all[] = ['id' => (string) $id, 'tag' => $name, 'tagType' => 'contact'];
            }
            return Answer::json(200, ['tags' => array_slice($all, $offset, $limit), 'meta' => ['total' => (string) count($all)]]);
        }
        return Answer::json(404, ['message' => 'No route found']);
    }

    private function noContact(string $id): Answer
    {
        return Answer::json(404, ['message' => "No Result found for Subscriber with id $id"]);
    }

    /** `GET /api/3/contacts/{id}`: the contact, its field values and its tag links (ids). */
    private function contact(string $id, array $c): array
    {
        $fields = [];
        foreach ($c['fields'] as $field => $value) {
            $fields[] = ['contact' => $id, 'field' => (string) $field, 'value' => $value, 'id' => (string) (7000 + count($fields))];
        }
        return [
            'contact' => ['id' => $id, 'email' => $c['email'], 'firstName' => $c['first_name'], 'lastName' => $c['last_name'], 'phone' => $c['phone'], 'cdate' => '2024-01-02T10:00:00-06:00'],
            'fieldValues' => $fields,
            'contactTags' => array_map(static fn ($t) => ['contact' => $id, 'tag' => (string) $t, 'id' => (string) (8000 + (int) $t)], $c['tags']),
        ];
    }

    public function webhook(string $id, array $c, array $tagNames, array $contract, string $method): array
    {
        $body = [
            'url' => '', 'type' => 'contact_tag_added', 'date_time' => gmdate('c'), 'initiated_by' => 'admin', 'initiated_from' => 'admin',
            'list' => '0',
            'contact' => [
                'id' => $id, 'email' => $c['email'], 'first_name' => $c['first_name'], 'last_name' => $c['last_name'], 'phone' => $c['phone'],
                'tags' => implode(', ', $tagNames), 'fields' => $c['fields'],
            ],
        ];
        return ['method' => 'POST', 'query' => $contract, 'body' => http_build_query($body), 'content_type' => 'application/x-www-form-urlencoded'];
    }
}
