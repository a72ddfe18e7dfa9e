<?php
/**
 * CrmHook_Import's statements on a real WordPress database: what a cancel drops and what it
 * keeps, the counts, and when an import is done.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class ImportTest extends TestCase
{
    protected function setUp(): void
    {
        global $wpdb;
        $wpdb->query('DELETE FROM ' . CrmHook_Import::table());
        $wpdb->query('DELETE FROM ' . CrmHook_Queue::table());
    }

    private function import(string $status): int
    {
        global $wpdb;
        $wpdb->query($wpdb->prepare(
            'INSERT INTO ' . CrmHook_Import::table() . " (crm, tag_id, status, list_after, created_at, updated_at) VALUES ('keap', '7', %s, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
            $status
        ));
        return (int) $wpdb->insert_id;
    }

    private function enqueue(string $contact, ?int $import): void
    {
        $hook = ['action' => 'add', 'crm' => 'keap', 'contact_id' => $contact, 'email' => null, 'tags' => null, 'role' => null, 'send_notification' => false];
        $this->assertNotNull(CrmHook_Queue::enqueue($import === null ? $hook : $hook + ['import_id' => $import]));
    }

    /** @return array<string, array{import_id: ?string, webhooks: string}> contact id => row */
    private function queued(): array
    {
        global $wpdb;
        $rows = $wpdb->get_results('SELECT contact_id, import_id, webhooks FROM ' . CrmHook_Queue::table() . " WHERE status = 'queued'", ARRAY_A);
        return array_column($rows, null, 'contact_id');
    }

    public function testCancelDropsTheImportsOwnJobsAndKeepsThoseAWebhookMergedInto(): void
    {
        $id = $this->import('running');
        $this->enqueue('1', $id);          // the import's own
        $this->enqueue('2', null);         // a webhook first, the import merges in
        $this->enqueue('2', $id);
        $this->enqueue('3', $id);          // the import first, a webhook merges in
        $this->enqueue('3', null);

        $queued = $this->queued();
        $this->assertSame(['0', '1', '1'], [(string) $queued['1']['webhooks'], (string) $queued['2']['webhooks'], (string) $queued['3']['webhooks']], 'an import job counts no webhook');
        $this->assertSame([(string) $id, (string) $id, (string) $id], [(string) $queued['1']['import_id'], (string) $queued['2']['import_id'], (string) $queued['3']['import_id']]);

        $this->assertTrue(CrmHook_Import::cancel($id));
        $queued = $this->queued();
        $this->assertSame(['2', '3'], array_map('strval', array_keys($queued)), 'the webhooks still run');
        $this->assertNull($queued['2']['import_id']);
        $this->assertNull($queued['3']['import_id']);
        $progress = CrmHook_Import::progress($id);
        $this->assertSame(['cancelled', 1, 0], [$progress['status'], $progress['dropped'], $progress['waiting']]);
        $this->assertFalse(CrmHook_Import::cancel($id), 'a cancelled import is over');
    }

    public function testOutcomesAreCountedAndTheLastJobFinishesTheImport(): void
    {
        global $wpdb;
        $id = $this->import('running');
        $this->enqueue('1', $id);
        $this->enqueue('2', $id);
        $wpdb->query('UPDATE ' . CrmHook_Queue::table() . " SET status = 'done', waiting = NULL WHERE contact_id = '1'");
        CrmHook_Import::job_ended(['import_id' => $id], 'created');
        $this->assertSame('running', CrmHook_Import::progress($id)['status'], 'a job of it still waits');
        $wpdb->query('UPDATE ' . CrmHook_Queue::table() . " SET status = 'failed', waiting = NULL WHERE contact_id = '2'");
        CrmHook_Import::job_ended(['import_id' => $id], 'failed');
        CrmHook_Import::job_ended(['import_id' => $id], 'not an outcome');
        CrmHook_Import::job_ended(['import_id' => null], 'created');
        $progress = CrmHook_Import::progress($id);
        $this->assertSame(['done', 100, 1, 0, 0, 1], [$progress['status'], $progress['percent'], $progress['created'], $progress['updated'], $progress['skipped'], $progress['failed']]);
    }

    public function testOutcomesTellCreatedFromUpdatedBySyncsAction(): void
    {
        CrmHook_Import::forget_created();
        $this->assertSame('updated', CrmHook_Import::outcome_of(['ok' => true, 'user_id' => 5, 'status' => 200]));
        do_action('crmhook_user_created', 6, [], []);
        $this->assertSame('created', CrmHook_Import::outcome_of(['ok' => true, 'user_id' => 6, 'status' => 200]));
        $this->assertSame('updated', CrmHook_Import::outcome_of(['ok' => true, 'user_id' => 6, 'status' => 200]), 'seen once');
        $this->assertSame('skipped', CrmHook_Import::outcome_of(['ok' => false, 'user_id' => null, 'status' => 200]));
        $this->assertSame('failed', CrmHook_Import::outcome_of(['ok' => false, 'user_id' => null, 'status' => 404]));
    }

    public function testOnlyOneImportRunsAtATime(): void
    {
        update_option(CrmHook_Settings::OPTION, array_merge(CrmHook_Settings::all(), ['crm' => 'keap']));
        $running = $this->import('listing');
        $refused = CrmHook_Import::start('7', 'Tag 7', null, null);
        $this->assertInstanceOf(WP_Error::class, $refused);
        $this->assertStringContainsString((string) $running, $refused->get_error_message());
        $this->assertInstanceOf(WP_Error::class, CrmHook_Import::start('7 OR 1', '', null, null));
        CrmHook_Import::cancel($running);
        $started = CrmHook_Import::start('7', 'Tag 7', 'subscriber', 120);
        $this->assertIsInt($started);
        $progress = CrmHook_Import::progress($started);
        $this->assertSame(['listing', 'keap', '7', 'Tag 7', 'subscriber', 120, 0], [$progress['status'], $progress['crm'], $progress['tag_id'], $progress['tag_name'], $progress['role'], $progress['total'], $progress['percent']]);
    }
}
