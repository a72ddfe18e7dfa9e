<?php
/**
 * The parts of CrmHook_Sync that other plugins rely on: tag storage and its actions, and the
 * named locks.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class SyncTest extends TestCase
{
    /** @var list<array{string, array<mixed>}> */
    private array $fired = [];

    protected function setUp(): void
    {
        foreach (['crmhook_tags_applied', 'crmhook_tags_removed', 'crmhook_tags_modified'] as $hook) {
            add_action($hook, function (...$args) use ($hook) {
                $this->fired[] = [$hook, $args];
            }, 10, 3);
        }
    }

    protected function tearDown(): void
    {
        remove_all_actions('crmhook_tags_applied');
        remove_all_actions('crmhook_tags_removed');
        remove_all_actions('crmhook_tags_modified');
    }

    public function testTagsAreStoredAndTheActionsSayWhatChanged(): void
    {
        $id = wp_insert_user(['user_login' => 'tagged' . wp_rand(), 'user_email' => wp_rand() . '@example.com', 'user_pass' => 'x']);
        update_user_meta($id, 'activecampaign_tags', ['Lead', 'VIP']);

        CrmHook_Sync::set_tags($id, 'activecampaign', ['VIP', 'Customer']);

        $this->assertSame(['VIP', 'Customer'], get_user_meta($id, 'activecampaign_tags', true));
        $this->assertSame([
            ['crmhook_tags_applied', [$id, ['Customer'], 'activecampaign']],
            ['crmhook_tags_removed', [$id, ['Lead'], 'activecampaign']],
            ['crmhook_tags_modified', [$id, ['VIP', 'Customer'], 'activecampaign']],
        ], $this->fired);
    }

    public function testTagsKeepTheirBackslashesAndQuotes(): void
    {
        $id = wp_insert_user(['user_login' => 'slash' . wp_rand(), 'user_email' => wp_rand() . '@example.com', 'user_pass' => 'x']);
        CrmHook_Sync::set_tags($id, 'activecampaign', ['Path\\To', "O'Brien \"VIP\""]);
        wp_cache_flush();
        $this->assertSame(['Path\\To', "O'Brien \"VIP\""], get_user_meta($id, 'activecampaign_tags', true));
    }

    public function testUnchangedTagsFireNothing(): void
    {
        $id = wp_insert_user(['user_login' => 'same' . wp_rand(), 'user_email' => wp_rand() . '@example.com', 'user_pass' => 'x']);
        update_user_meta($id, 'infusionsoft_tags', ['1', '2']);
        CrmHook_Sync::set_tags($id, 'keap', ['1', '2']);
        $this->assertSame([], $this->fired);
    }

    public function testANamedLockIsExclusiveAcrossConnections(): void
    {
        $lock = new CrmHook_Lock();
        $this->assertTrue($lock->acquire('email:ann@example.com'));
        // A second connection, as a second php-fpm worker would have.
        [$host, $socket] = array_pad(explode(':', DB_HOST, 2), 2, null);
        $other = new mysqli($host, DB_USER, DB_PASSWORD, DB_NAME, 0, $socket);
        $name = 'crmhook_' . md5('email:ann@example.com');
        $this->assertSame('0', (string) $other->query("SELECT GET_LOCK('$name', 0)")->fetch_row()[0]);
        $lock->release_all();
        $this->assertSame('1', (string) $other->query("SELECT GET_LOCK('$name', 0)")->fetch_row()[0]);
        $other->close();
    }
}
