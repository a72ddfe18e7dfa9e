<?php
/**
 * Import by tag, end to end: Tools → Import from CRM started by the admin, the queue's runner
 * listing the CRM's pages and running one add job per contact, the progress read from the REST
 * endpoint the page polls, cancelling, and a CRM that fails on a page.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class ImportTest extends E2ETestCase
{
    private const TAG = '77';

    /** Tools → Import from CRM. */
    private const SCREEN = '/wp-admin/tools.php?page=crmhook-import';

    protected function setUp(): void
    {
        // The base waited for the runners of earlier tests before resetting the site.
        parent::setUp();
        self::$db->query('DELETE FROM wp_crmhook_imports');
    }

    public function testAnImportOf250TaggedContactsAcrossPagesMakes250Users(): void
    {
        $this->configure('fluentcrm', ['queue_mode' => 'background']);
        $this->emulatorPost('/_emulator/contacts/fluentcrm/tagged', ['tag' => self::TAG, 'count' => 250, 'from' => 20001]);
        $admin = $this->adminLogin();

        $page = $this->adminGet($admin, self::SCREEN);
        $this->assertSame(200, $page['status']);
        foreach (['crmhook-import-form', 'crmhook-import-tag', 'crmhook-import-tag-count', 'crmhook-import-role', 'crmhook-import-start'] as $id) {
            $this->assertStringContainsString('id="' . $id . '"', $page['body']);
        }
        $nonce = $this->restNonce($page['body']);

        // The count the page shows for a tag: the listing's first page.
        $count = $this->rest($admin, $nonce, 'GET', '/imports/count?tag_id=' . self::TAG);
        $this->assertSame(200, $count['status'], $count['body']);
        $this->assertSame(['total' => 250, 'first_page' => 100, 'more' => true], $count['json']);

        $id = $this->start($admin, $page['body'], self::TAG);
        $seen = [];
        $this->assertTrue($this->waitFor(function () use ($admin, $nonce, $id, &$seen): bool {
            $p = $this->rest($admin, $nonce, 'GET', "/imports/$id")['json'];
            $seen[] = $p['percent'];
            return $p['status'] === 'done';
        }, 240, 200), 'the import finishes: ' . json_encode($this->progressRow($id)));

        $p = $this->rest($admin, $nonce, 'GET', "/imports/$id");
        $this->assertSame(200, $p['status']);
        $this->assertMatchesRegularExpression('/no-(cache|store)/', $p['headers']['cache-control'] ?? '', 'never cached');
        $progress = $p['json'];
        $this->assertSame(100, $progress['percent']);
        $this->assertSame(['done', 3, 250, 250, 250, 250, 0, 0, 0, 0], [
            $progress['status'], $progress['pages'], $progress['found'], $progress['total'], $progress['jobs'], $progress['created'],
            $progress['updated'], $progress['skipped'], $progress['failed'], $progress['waiting'],
        ]);
        $sorted = $seen;
        sort($sorted);
        $this->assertSame($sorted, $seen, 'the progress only grows');

        // 250 users, each linked to its contact, and the import's pages listed once each.
        $this->assertSame(250, (int) $this->rows("SELECT COUNT(*) AS n FROM wp_users WHERE user_email LIKE 'import-%@example.com'")[0]['n']);
        $this->assertSame(250, (int) $this->rows("SELECT COUNT(*) AS n FROM wp_crmhook_contacts WHERE crm = 'fluentcrm' AND contact_id BETWEEN '20001' AND '20250'")[0]['n']);
        $user = $this->userByEmail('import-20123@example.com');
        $this->assertSame(['subscriber'], $this->roles((int) $user['ID']));
        $this->assertSame([self::TAG], $this->tags((int) $user['ID'], 'fluentcrm'));
        $listings = array_filter($this->crmCalls('fluentcrm'), static fn ($c) => $c['path'] === '/wp-json/fluent-crm/v2/subscribers' && isset($c['query']['tags']));
        $this->assertSame(['1', '1', '2', '3'], array_values(array_map(static fn ($c) => $c['query']['page'], $listings)), 'page 1 for the count, then the import\'s three pages, once each');

        // The finished import on the screen: the counts under their stable ids, no cancel button.
        $page = $this->adminGet($admin, self::SCREEN . "&import=$id");
        $this->assertMatchesRegularExpression('#<progress id="crmhook-import-progress" max="100" value="100">#', $page['body']);
        $this->assertMatchesRegularExpression('#id="crmhook-import-created">250<#', $page['body']);
        $this->assertMatchesRegularExpression('#<form id="crmhook-import-cancel-form"[^>]* hidden>#', $page['body']);

        // Importing again updates the same users: nobody twice.
        $id2 = $this->start($admin, $page['body'], self::TAG);
        $this->assertTrue($this->waitFor(fn (): bool => ($this->progressRow($id2)['status'] ?? '') === 'done', 240), json_encode($this->progressRow($id2)));
        $again = $this->rest($admin, $nonce, 'GET', "/imports/$id2")['json'];
        $this->assertSame([0, 250], [$again['created'], $again['updated']]);
        $this->assertSame(250, (int) $this->rows("SELECT COUNT(*) AS n FROM wp_users WHERE user_email LIKE 'import-%@example.com'")[0]['n']);
    }

    public function testTheRestEndpointsNeedAnAdministratorAndTheRestNonce(): void
    {
        $this->configure('fluentcrm');
        self::$db->query("INSERT INTO wp_crmhook_imports (crm, tag_id, status, list_after, created_at, updated_at) VALUES ('fluentcrm', '77', 'done', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))");
        $id = self::$db->insert_id;
        $anonymous = $this->request('GET', 'rest_route=' . rawurlencode("/crmhook/v1/imports/$id"));
        $this->assertSame(401, $anonymous['status'], $anonymous['body']);
        $admin = $this->adminLogin();
        // Logged in but without the wp_rest nonce: WordPress treats the request as anonymous.
        $this->assertSame(401, $this->rest($admin, null, 'GET', "/imports/$id")['status']);
        $nonce = $this->restNonce($this->adminGet($admin, self::SCREEN)['body']);
        $this->assertSame(200, $this->rest($admin, $nonce, 'GET', "/imports/$id")['status']);
        $this->assertSame(404, $this->rest($admin, $nonce, 'GET', '/imports/999999')['status']);
        $this->assertSame(409, $this->rest($admin, $nonce, 'POST', "/imports/$id/cancel")['status'], 'a finished import cannot be cancelled');
        // A start without the form's nonce is refused and starts nothing.
        $refused = $this->adminPost($admin, '/wp-admin/admin-post.php', ['action' => 'crmhook_import_start', 'tag_id' => self::TAG, '_wpnonce' => 'nope', '_wp_http_referer' => self::SCREEN]);
        $this->assertSame(403, $refused['status']);
        $this->assertSame(1, (int) $this->rows('SELECT COUNT(*) AS n FROM wp_crmhook_imports')[0]['n']);
    }

    public function testCancelStopsTheListingAndDropsTheJobsNotYetRun(): void
    {
        // ActiveCampaign's 5 calls a second keep most of the first page waiting when it is cancelled.
        $this->configure('activecampaign', ['queue_mode' => 'background']);
        $this->emulatorPost('/_emulator/contacts/activecampaign/tagged', ['tag' => self::TAG, 'count' => 250, 'from' => 20001]);
        $admin = $this->adminLogin();
        $page = $this->adminGet($admin, self::SCREEN);
        $nonce = $this->restNonce($page['body']);
        $id = $this->start($admin, $page['body'], self::TAG);
        $this->assertTrue($this->waitFor(fn (): bool => (int) ($this->progressRow($id)['jobs'] ?? 0) >= 100, 60), 'the first page is queued');

        $cancelled = $this->rest($admin, $nonce, 'POST', "/imports/$id/cancel");
        $this->assertSame(200, $cancelled['status'], $cancelled['body']);
        $this->assertSame('cancelled', $cancelled['json']['status']);
        $this->assertGreaterThan(0, $cancelled['json']['dropped']);
        $this->assertSame([], $this->rows("SELECT id FROM wp_crmhook_queue WHERE import_id = ? AND status = 'queued'", 'i', $id), 'no job of it waits');

        // Once the runners are idle: only what ran before the cancel made users, and no page was listed after it.
        $this->assertTrue($this->queueIdle(60));
        $this->assertTrue($this->runnersIdle(60));
        $row = $this->progressRow($id);
        $this->assertSame('cancelled', $row['status']);
        $users = (int) $this->rows("SELECT COUNT(*) AS n FROM wp_users WHERE user_email LIKE 'import-%@example.com'")[0]['n'];
        $this->assertSame((int) $row['created'], $users);
        $this->assertLessThan(250, $users);
        $this->assertSame((int) $row['jobs'], (int) $row['dropped'] + (int) $row['created'] + (int) $row['updated'] + (int) $row['skipped'] + (int) $row['failed']);
        $listings = array_filter($this->crmCalls('activecampaign'), static fn ($c) => $c['path'] === '/api/3/contacts' && isset($c['query']['tagid']));
        $this->assertCount((int) $row['pages'], $listings, 'no page listed after the cancel');
    }

    public function testAPageTheCrmFailsIsRetriedAndTheImportCompletes(): void
    {
        $this->configure('fluentcrm', ['queue_mode' => 'background', 'queue_backoff' => 1]);
        $this->emulatorPost('/_emulator/contacts/fluentcrm/tagged', ['tag' => self::TAG, 'count' => 150, 'from' => 20001]);
        // The listing (not the contact fetches) answers 503 twice: the extension's own retry, then the import's.
        $this->fault(['crm' => 'fluentcrm', 'path' => '#^/wp-json/fluent-crm/v2/subscribers$#', 'status' => 503, 'body' => ['message' => 'down'], 'times' => 2]);
        $admin = $this->adminLogin();
        $page = $this->adminGet($admin, self::SCREEN);
        $id = $this->start($admin, $page['body'], self::TAG);
        $this->assertTrue($this->waitFor(fn (): bool => ($this->progressRow($id)['status'] ?? '') === 'done', 180), json_encode($this->progressRow($id)));
        $row = $this->progressRow($id);
        $this->assertSame([2, 150, 150, 0], array_map('intval', [$row['pages'], $row['jobs'], $row['created'], $row['failed']]));
        $this->assertNull($row['last_error'], 'the error is cleared once the page was listed');
        $listings = array_values(array_filter($this->crmCalls('fluentcrm'), static fn ($c) => $c['path'] === '/wp-json/fluent-crm/v2/subscribers'));
        $this->assertSame(['1', '1', '1', '2'], array_map(static fn ($c) => $c['query']['page'], $listings), 'page 1 failed twice, then was listed');
    }

    public function testAPageThatKeepsFailingIsReportedAndTheImportStops(): void
    {
        $this->configure('fluentcrm', ['queue_mode' => 'background', 'queue_backoff' => 1, 'queue_max_attempts' => 2]);
        $this->emulatorPost('/_emulator/contacts/fluentcrm/tagged', ['tag' => self::TAG, 'count' => 10, 'from' => 20001]);
        $this->fault(['crm' => 'fluentcrm', 'path' => '#^/wp-json/fluent-crm/v2/subscribers$#', 'status' => 503, 'body' => ['message' => 'down']]);
        $admin = $this->adminLogin();
        $page = $this->adminGet($admin, self::SCREEN);
        $nonce = $this->restNonce($page['body']);
        $id = $this->start($admin, $page['body'], self::TAG);
        $this->assertTrue($this->waitFor(fn (): bool => ($this->progressRow($id)['status'] ?? '') === 'failed', 120), json_encode($this->progressRow($id)));
        $progress = $this->rest($admin, $nonce, 'GET', "/imports/$id")['json'];
        $this->assertSame([0, 0, 0], [$progress['pages'], $progress['jobs'], $progress['created']]);
        $this->assertStringContainsString('Listing failed after 2 attempts', (string) $progress['last_error']);
        $this->assertStringContainsString('HTTP 503', (string) $progress['last_error']);
        $this->assertStringNotContainsString(self::$credentials['fluentcrm']['password'], (string) $progress['last_error']);
        $this->assertSame(0, (int) $this->rows("SELECT COUNT(*) AS n FROM wp_users WHERE user_email LIKE 'import-%@example.com'")[0]['n']);
        $page = $this->adminGet($admin, self::SCREEN . "&import=$id");
        $this->assertMatchesRegularExpression('#id="crmhook-import-error" class="crmhook-error">Listing failed after 2 attempts#', $page['body']);
    }

    // ---- helpers -------------------------------------------------------------------------

    /** Submits the start form with its nonce; the import's id from the redirect. */
    private function start(string $jar, string $pageBody, string $tag): int
    {
        $this->assertSame(1, preg_match('#name="action" value="crmhook_import_start">\s*<input type="hidden" id="_wpnonce" name="_wpnonce" value="(\w+)"#', $pageBody, $m), 'a start form with a nonce');
        $answer = $this->adminPost($jar, '/wp-admin/admin-post.php', ['action' => 'crmhook_import_start', 'tag_id' => $tag, 'role' => '', '_wpnonce' => $m[1], '_wp_http_referer' => self::SCREEN]);
        $this->assertSame(302, $answer['status'], $answer['body']);
        $this->assertSame(1, preg_match('#[?&]import=(\d+)#', $answer['location'], $id), 'redirected to the import: ' . $answer['location']);
        return (int) $id[1];
    }

    /** @return array<string, string|null>|null */
    private function progressRow(int $id): ?array
    {
        return $this->rows('SELECT * FROM wp_crmhook_imports WHERE id = ?', 'i', $id)[0] ?? null;
    }

    private function restNonce(string $pageBody): string
    {
        $this->assertSame(1, preg_match('#var crmhookImport = (\{.*?\});#', $pageBody, $m), 'the page carries its script settings');
        return (string) json_decode($m[1], true)['nonce'];
    }

    /** @return array{status: int, body: string, json: ?array, headers: array<string, string>, location: string} */
    private function rest(string $jar, ?string $nonce, string $method, string $route): array
    {
        [$path, $query] = array_pad(explode('?', $route, 2), 2, '');
        $url = self::$site . '/?rest_route=' . rawurlencode('/crmhook/v1' . $path) . ($query !== '' ? '&' . $query : '');
        return $this->adminRequest($jar, $method, $url, null, $nonce === null ? [] : ["X-WP-Nonce: $nonce"]);
    }
}
