<?php
/**
 * crmhook_map_contact: the user plan. Logins WordPress stores unchanged, passwords given or
 * generated (and never in notices), the role policy judged on capabilities, privileged users
 * left alone, the field map, and tags.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use CrmHook\WebhookException;
use TypeError;
use ValueError;

final class MapContactTest extends ExtensionTestCase
{
    /** Capabilities a webhook may never grant (docs/php-api.md). */
    public const DANGEROUS_CAPS = [
        'manage_options', 'edit_users', 'promote_users', 'create_users', 'delete_users',
        'edit_plugins', 'install_plugins', 'activate_plugins', 'unfiltered_html',
    ];

    /** The site's roles, slug → capability map (as wp_roles()->roles[$slug]['capabilities']). */
    private const ROLES = [
        'administrator' => ['read' => true, 'manage_options' => true, 'edit_users' => true, 'install_plugins' => true],
        'editor' => ['read' => true, 'edit_posts' => true, 'edit_others_posts' => true, 'unfiltered_html' => true],
        'author' => ['read' => true, 'edit_posts' => true, 'publish_posts' => true],
        'subscriber' => ['read' => true],
        'customer' => ['read' => true],
        'shop_manager' => ['read' => true, 'manage_woocommerce' => true, 'edit_users' => true],
    ];

    /** @return array<string, mixed> */
    private static function contact(array $overrides = []): array
    {
        return $overrides + [
            'id' => '42',
            'email' => 'Ann+VIP@Example.com',
            'first_name' => 'Ann',
            'last_name' => 'Lee',
            'fields' => ['12' => 'Gold', '13' => 'annlee', '14' => 'S3cret-Pa55', '15' => 'customer'],
            'tags' => ['VIP', 'Customer'],
        ];
    }

    /** @return array<string, mixed> */
    private static function options(array $overrides = []): array
    {
        return $overrides + ['default_role' => 'subscriber', 'roles' => self::ROLES];
    }

    /** @return array<string, mixed> */
    private static function existing(array $overrides = []): array
    {
        return $overrides + ['ID' => 7, 'user_login' => 'ann', 'user_email' => 'old@example.com', 'roles' => ['subscriber'], 'privileged' => false];
    }

    /**
     * WordPress's `sanitize_user($username, true)` without its filter: the reference a login must
     * pass unchanged. (remove_accents is left out: any non-ASCII byte is dropped by the strict
     * step anyway, so a login holding one comes out changed either way.)
     */
    private static function wpSanitizeUserStrict(string $username): string
    {
        // wp_strip_all_tags()
        $username = (string) preg_replace('@<(script|style)[^>]*?>.*?</\\1>@si', '', $username);
        $username = trim(strip_tags($username));
        // Percent-encoded octets and HTML entities.
        $username = (string) preg_replace('|%([a-fA-F0-9][a-fA-F0-9])|', '', $username);
        $username = (string) preg_replace('/&.+?;/', '', $username);
        // $strict: reduce to ASCII for max portability.
        $username = (string) preg_replace('|[^a-z0-9 _.\-@]|i', '', $username);
        $username = trim($username);
        return (string) preg_replace('|\s+|', ' ', $username);
    }

    private function assertLoginWordPressKeeps(string $login, string $context): void
    {
        $this->assertNotSame('', $login, "$context: empty login");
        $this->assertSame(self::wpSanitizeUserStrict($login), $login, "$context: sanitize_user(\$login, true) would change it");
        $this->assertLessThanOrEqual(60, mb_strlen($login), "$context: wp_insert_user refuses logins over 60 characters");
    }

    public function testReferenceSanitizeUserMatchesWordPressOnKnownExamples(): void
    {
        // The reference itself, on examples whose WordPress output is known.
        $this->assertSame('annvip@example.com', self::wpSanitizeUserStrict('ann+vip@example.com'));
        $this->assertSame('ab@example.com', self::wpSanitizeUserStrict('a%41b@example.com'));
        $this->assertSame('xy', self::wpSanitizeUserStrict('x&amp;y'));
        $this->assertSame('bold', self::wpSanitizeUserStrict('<b>bold</b>'));
        $this->assertSame('a b', self::wpSanitizeUserStrict("  a \t b "));
        $this->assertSame('Ann Lee', self::wpSanitizeUserStrict('Ann Lee'));
    }

    // ---- logins -----------------------------------------------------------------------------------

    /** @return iterable<string, array{string}> */
    public static function emailProvider(): iterable
    {
        $emails = [
            'ann@example.com',
            'Ann+VIP@Example.com',
            'first.last+tag@sub.example.co.uk',
            "o'brien@example.ie",
            'a%41b@example.com',
            'x&amp;y@example.com',
            '<b>bold</b>@example.com',
            'josé.núñez@exämple.com',
            'ÅNGSTRÖM@example.se',
            'Σωκράτης@example.gr',
            '用户@例子.中国',
            'UPPER.CASE@EXAMPLE.COM',
            ' padded@example.com ',
            '"quoted  local"@example.com',
            'user@[192.168.0.1]',
            '-._@example.com',
            str_repeat('a', 80) . '@example.com',
            'very.long.' . str_repeat('b', 50) . '+newsletter@' . str_repeat('c', 20) . '.example.com',
            str_repeat('é', 70) . '@example.com',
        ];
        foreach ($emails as $email) {
            yield $email => [$email];
        }
    }

    /** @dataProvider emailProvider */
    public function testLoginSurvivesSanitizeUserForEveryUsernameFormat(string $email): void
    {
        foreach (['email', 'flname', 'fnamenum'] as $format) {
            $plan = crmhook_map_contact(self::contact(['email' => $email]), self::options(['username_format' => $format]), null);
            $this->assertSame('create', $plan['op']);
            $this->assertLoginWordPressKeeps($plan['user']['user_login'], "$format / $email");
        }
        $plan = crmhook_map_contact(self::contact(['email' => $email, 'first_name' => '', 'last_name' => '']), self::options(['username_format' => 'flname']), null);
        $this->assertLoginWordPressKeeps($plan['user']['user_login'], "flname without names / $email");
    }

    /** @dataProvider emailProvider */
    public function testAddTwiceGivesSameLogin(string $email): void
    {
        foreach (['email', 'flname', 'fnamenum'] as $format) {
            $first = crmhook_map_contact(self::contact(['email' => $email]), self::options(['username_format' => $format]), null);
            $second = crmhook_map_contact(self::contact(['email' => $email]), self::options(['username_format' => $format]), null);
            $this->assertSame($first['user']['user_login'], $second['user']['user_login'], $format);
            $this->assertNotSame($first['user']['user_pass'], $second['user']['user_pass'], 'passwords are new each time');
        }
    }

    public function testEmailFormatIsTheEmailMadeSafe(): void
    {
        $plan = crmhook_map_contact(self::contact(['email' => 'ann@example.com']), self::options(), null);
        $this->assertSame('ann@example.com', $plan['user']['user_login'], 'a login-safe address is kept as it is');
        $plan = crmhook_map_contact(self::contact(['email' => 'Ann+VIP@Example.com']), self::options(['username_format' => 'email']), null);
        $this->assertSame('ann-vip@example.com', $plan['user']['user_login']);
        $this->assertSame('Ann+VIP@Example.com', $plan['user']['user_email'], 'the email itself is not touched');
    }

    public function testPlusAddressDoesNotCollideWithTheBaseAddress(): void
    {
        $plus = crmhook_map_contact(self::contact(['email' => 'ann+news@example.com']), self::options(), null)['user']['user_login'];
        $base = crmhook_map_contact(self::contact(['email' => 'ann@example.com']), self::options(), null)['user']['user_login'];
        $this->assertNotSame($plus, $base);
    }

    public function testLongEmailsSharingTheirStartGetDifferentLogins(): void
    {
        $start = str_repeat('member.of.the.very.long.club.', 3);
        $a = crmhook_map_contact(self::contact(['email' => $start . 'alice@example.com']), self::options(), null)['user']['user_login'];
        $b = crmhook_map_contact(self::contact(['email' => $start . 'bob@example.com']), self::options(), null)['user']['user_login'];
        $this->assertLessThanOrEqual(60, strlen($a));
        $this->assertNotSame($a, $b);
    }

    public function testFlnameIsFirstAndLastNameFolded(): void
    {
        $plan = crmhook_map_contact(self::contact(['first_name' => 'José', 'last_name' => 'Núñez']), self::options(['username_format' => 'flname']), null);
        $this->assertSame('josenunez', $plan['user']['user_login']);
        $plan = crmhook_map_contact(self::contact(['first_name' => "D'Arcy", 'last_name' => 'Mc-Gee']), self::options(['username_format' => 'flname']), null);
        $this->assertSame('darcymcgee', $plan['user']['user_login']);
    }

    public function testFnamenumIsFirstNameAndAStableNumber(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['username_format' => 'fnamenum']), null);
        $this->assertMatchesRegularExpression('/\Aann[0-9]{4}\z/', $plan['user']['user_login']);
    }

    public function testNameFormatsWithoutUsableNamesFallBackToTheEmail(): void
    {
        foreach (['flname', 'fnamenum'] as $format) {
            $plan = crmhook_map_contact(self::contact(['email' => 'ann@example.com', 'first_name' => '李', 'last_name' => '']), self::options(['username_format' => $format]), null);
            $this->assertSame('ann@example.com', $plan['user']['user_login'], $format);
        }
    }

    public function testVeryLongNamesStillFit(): void
    {
        $plan = crmhook_map_contact(self::contact(['first_name' => str_repeat('Bartholomew', 10), 'last_name' => str_repeat('Featherstonehaugh', 10)]), self::options(['username_format' => 'flname']), null);
        $this->assertLoginWordPressKeeps($plan['user']['user_login'], 'long names');
    }

    public function testUnknownUsernameFormatIsAValueError(): void
    {
        $this->assertRefused(fn () => crmhook_map_contact(self::contact(), self::options(['username_format' => 'nickname']), null), ValueError::class, 0, 'username_format');
    }

    // ---- mapped login and password ---------------------------------------------------------------------

    public function testMappedUserLoginIsUsedAsGiven(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['field_map' => ['13' => 'user_login']]), null);
        $this->assertSame('annlee', $plan['user']['user_login']);
        $plan = crmhook_map_contact(self::contact(['fields' => ['13' => 'Ann Lee']]), self::options(['field_map' => ['13' => 'user_login']]), null);
        $this->assertSame('Ann Lee', $plan['user']['user_login'], 'spaces and upper case survive sanitize_user');
    }

    public function testMappedUserLoginWordPressWouldChangeIsMadeSafe(): void
    {
        $plan = crmhook_map_contact(self::contact(['fields' => ['13' => 'Ann+Lée']]), self::options(['field_map' => ['13' => 'user_login']]), null);
        $this->assertLoginWordPressKeeps($plan['user']['user_login'], 'mapped Ann+Lée');
        $this->assertSame('AnnLee', $plan['user']['user_login']);
        $this->assertStringContainsString('AnnLee', implode("\n", $plan['notices']), 'the change is logged');
    }

    public function testMappedUserLoginWithNothingUsableFallsBackToTheFormat(): void
    {
        $plan = crmhook_map_contact(self::contact(['email' => 'ann@example.com', 'fields' => ['13' => '+++']]), self::options(['field_map' => ['13' => 'user_login']]), null);
        $this->assertSame('ann@example.com', $plan['user']['user_login']);
        $this->assertNotEmpty($plan['notices']);
    }

    public function testMappedLongUserLoginIsCutTo60(): void
    {
        $plan = crmhook_map_contact(self::contact(['fields' => ['13' => str_repeat('x', 100)]]), self::options(['field_map' => ['13' => 'user_login']]), null);
        $this->assertLoginWordPressKeeps($plan['user']['user_login'], '100 x');
    }

    public function testMappedUserPassIsUsedAsGivenAndNotReturned(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['field_map' => ['14' => 'user_pass'], 'return_password_field' => '16']), null);
        $this->assertSame('S3cret-Pa55', $plan['user']['user_pass']);
        $this->assertFalse($plan['password_generated']);
        $this->assertNull($plan['return_password'], 'the CRM already has it');
    }

    public function testGeneratedPasswordIsReturnedToTheConfiguredField(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['return_password_field' => '16']), null);
        $this->assertTrue($plan['password_generated']);
        $this->assertMatchesRegularExpression('/\A[A-Za-z0-9]{24}\z/', $plan['user']['user_pass']);
        $this->assertSame(['field' => '16', 'value' => $plan['user']['user_pass']], $plan['return_password']);
    }

    public function testGeneratedPasswordIsNotReturnedWithoutAField(): void
    {
        foreach ([[], ['return_password_field' => ''], ['return_password_field' => '  '], ['return_password_field' => null]] as $o) {
            $plan = crmhook_map_contact(self::contact(), self::options($o), null);
            $this->assertTrue($plan['password_generated']);
            $this->assertNull($plan['return_password']);
        }
    }

    public function testUpdateDoesNotTouchThePasswordUnlessMapped(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['return_password_field' => '16']), self::existing());
        $this->assertArrayNotHasKey('user_pass', $plan['user']);
        $this->assertFalse($plan['password_generated']);
        $this->assertNull($plan['return_password']);
        $plan = crmhook_map_contact(self::contact(), self::options(['field_map' => ['14' => 'user_pass']]), self::existing(['created_from_contact' => true]));
        $this->assertSame('S3cret-Pa55', $plan['user']['user_pass']);
    }

    public function testMappedPasswordNeverReachesAUserTheSiteDidNotCreateFromTheContact(): void
    {
        $options = self::options(['field_map' => ['14' => 'user_pass']]);
        $plan = crmhook_map_contact(self::contact(), $options, self::existing());
        $this->assertArrayNotHasKey('user_pass', $plan['user'], 'a user matched by email keeps their password');
        $this->assertStringContainsString('password field ignored', implode("\n", $plan['notices']));

        $plan = crmhook_map_contact(self::contact(), $options + ['update_existing_passwords' => true], self::existing());
        $this->assertSame('S3cret-Pa55', $plan['user']['user_pass'], 'the owner allowed it explicitly');
    }

    public function testPasswordNeverAppearsInNotices(): void
    {
        $scenarios = [
            'generated, returned' => [self::contact(), self::options(['return_password_field' => '16']), null],
            'mapped on create' => [self::contact(), self::options(['field_map' => ['14' => 'user_pass', '13' => 'user_login', '15' => 'wp_capabilities'], 'return_password_field' => '16']), null],
            'mapped on update' => [self::contact(), self::options(['field_map' => ['14' => 'user_pass']]), self::existing(['created_from_contact' => true])],
            'mapped, not created here' => [self::contact(), self::options(['field_map' => ['14' => 'user_pass']]), self::existing()],
            'mapped, login changed' => [self::contact(['fields' => ['13' => 'Ann+Lée', '14' => 'S3cret-Pa55']]), self::options(['field_map' => ['13' => 'user_login', '14' => 'user_pass']]), null],
        ];
        foreach ($scenarios as $name => [$contact, $options, $user]) {
            $plan = crmhook_map_contact($contact, $options, $user);
            $this->assertNotEmpty($plan['notices'], "$name: the scenario should log something");
            $secrets = array_filter([$plan['user']['user_pass'] ?? null, 'S3cret-Pa55']);
            foreach ($plan['notices'] as $notice) {
                $this->assertIsString($notice);
                foreach ($secrets as $secret) {
                    $this->assertStringNotContainsString($secret, $notice, "$name: a notice carries the password");
                }
            }
        }
    }

    // ---- roles ----------------------------------------------------------------------------------------------

    public function testAllowedCustomerRoleIsGranted(): void
    {
        $options = self::options(['allowed_roles' => ['subscriber', 'customer'], 'requested_role' => 'customer']);
        $this->assertSame('customer', crmhook_map_contact(self::contact(), $options, null)['user']['role']);
        $plan = crmhook_map_contact(self::contact(), $options, self::existing(['roles' => ['subscriber']]));
        $this->assertSame('customer', $plan['user']['role'], 'an update may move a user to an allowed role');
    }

    public function testRoleNotAllowedFallsBackToTheDefault(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['allowed_roles' => ['subscriber'], 'requested_role' => 'author']), null);
        $this->assertSame('subscriber', $plan['user']['role']);
        $this->assertStringContainsString('not in the allowed roles', implode("\n", $plan['notices']));
    }

    public function testWithoutAllowedRolesOnlyTheDefaultRoleIsGranted(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['requested_role' => 'customer']), null);
        $this->assertSame('subscriber', $plan['user']['role']);
        $plan = crmhook_map_contact(self::contact(), self::options(['default_role' => 'customer', 'requested_role' => 'customer']), null);
        $this->assertSame('customer', $plan['user']['role']);
    }

    public function testUnregisteredRoleIsRefused(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['allowed_roles' => ['ghost'], 'requested_role' => 'ghost']), null);
        $this->assertSame('subscriber', $plan['user']['role']);
        $this->assertStringContainsString('not registered', implode("\n", $plan['notices']));
    }

    /** @return iterable<string, array{string}> */
    public static function dangerousCapabilityProvider(): iterable
    {
        foreach (self::DANGEROUS_CAPS as $cap) {
            yield $cap => [$cap];
        }
    }

    /** @dataProvider dangerousCapabilityProvider */
    public function testRoleWithADangerousCapabilityIsNeverGrantedEvenIfAllowed(string $cap): void
    {
        $roles = self::ROLES + ['power_member' => ['read' => true, $cap => true]];
        $options = self::options(['roles' => $roles, 'allowed_roles' => ['power_member', 'customer'], 'requested_role' => 'power_member']);
        $plan = crmhook_map_contact(self::contact(), $options, null);
        $this->assertSame('subscriber', $plan['user']['role'], "a role with $cap was granted on create");
        $this->assertStringContainsString('administrative capabilities', implode("\n", $plan['notices']));

        $plan = crmhook_map_contact(self::contact(), $options, self::existing());
        $this->assertArrayNotHasKey('role', $plan['user'], "a role with $cap was granted on update");

        // The same role asked for by a mapped CRM field.
        $viaField = self::options(['roles' => $roles, 'allowed_roles' => ['power_member'], 'field_map' => ['15' => 'role']]);
        $plan = crmhook_map_contact(self::contact(['fields' => ['15' => 'power_member']]), $viaField, null);
        $this->assertSame('subscriber', $plan['user']['role'], "a role with $cap was granted from a CRM field");

        // And as the site's default role.
        $plan = crmhook_map_contact(self::contact(), self::options(['roles' => $roles, 'default_role' => 'power_member']), null);
        $this->assertNotSame('power_member', $plan['user']['role'], "a default role with $cap was granted");
    }

    /** @return iterable<string, array{string}> */
    public static function builtInDangerousRoleProvider(): iterable
    {
        yield 'administrator' => ['administrator'];
        yield 'editor (unfiltered_html)' => ['editor'];
        yield 'shop_manager (edit_users)' => ['shop_manager'];
    }

    /** @dataProvider builtInDangerousRoleProvider */
    public function testPowerfulRolesAreNeverGrantedWhateverTheSettings(string $role): void
    {
        $options = self::options(['allowed_roles' => array_keys(self::ROLES), 'requested_role' => $role, 'default_role' => $role]);
        $plan = crmhook_map_contact(self::contact(), $options, null);
        $this->assertSame('subscriber', $plan['user']['role']);
    }

    public function testFullWpRolesShapeIsJudgedOnItsCapabilities(): void
    {
        // wp_roles()->roles as the plugin has it: slug → ['name' => …, 'capabilities' => […]].
        $wpRoles = [];
        foreach (self::ROLES as $slug => $caps) {
            $wpRoles[$slug] = ['name' => ucwords(str_replace('_', ' ', $slug)), 'capabilities' => $caps];
        }
        $options = self::options(['roles' => $wpRoles, 'allowed_roles' => ['customer', 'administrator', 'shop_manager'], 'requested_role' => 'customer']);
        $this->assertSame('customer', crmhook_map_contact(self::contact(), $options, null)['user']['role']);
        foreach (['administrator', 'shop_manager'] as $role) {
            $options['requested_role'] = $role;
            $this->assertSame('subscriber', crmhook_map_contact(self::contact(), $options, null)['user']['role'], $role);
        }
    }

    public function testCapabilityExplicitlyDeniedDoesNotCount(): void
    {
        // WordPress stores a denied capability as false: the role does not carry it.
        $roles = self::ROLES + ['member' => ['read' => true, 'edit_users' => false, 'manage_options' => 0]];
        $plan = crmhook_map_contact(self::contact(), self::options(['roles' => $roles, 'allowed_roles' => ['member'], 'requested_role' => 'member']), null);
        $this->assertSame('member', $plan['user']['role']);
    }

    /**
     * A capability list (`['manage_options', …]`) instead of a map is a plausible mistake in
     * `roles`; the policy must not read it as "no capabilities" and grant the role. Found by this
     * suite: it does today.
     */
    public function testCapabilityListIsNotReadAsNoCapabilities(): void
    {
        $roles = ['subscriber' => ['read'], 'administrator' => ['read', 'manage_options', 'edit_users']];
        $plan = crmhook_map_contact(self::contact(), self::options(['roles' => $roles, 'allowed_roles' => ['administrator'], 'requested_role' => 'administrator']), null);
        $this->assertNotSame('administrator', $plan['user']['role'], 'administrator granted by a webhook');
    }

    public function testDangerousDefaultRoleBecomesSubscriber(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['default_role' => 'administrator']), null);
        $this->assertSame('subscriber', $plan['user']['role']);
        $this->assertNotEmpty($plan['notices']);
    }

    public function testNoSafeRoleMeansNoRole(): void
    {
        $roles = ['administrator' => self::ROLES['administrator']];
        $plan = crmhook_map_contact(self::contact(), self::options(['roles' => $roles, 'default_role' => 'administrator']), null);
        $this->assertSame('', $plan['user']['role']);
        $this->assertStringContainsString('no safe role', implode("\n", $plan['notices']));
    }

    // ---- privileged and existing users -------------------------------------------------------------------------

    /** @return iterable<string, array{array<string, mixed>}> */
    public static function privilegedUserProvider(): iterable
    {
        yield 'flagged privileged' => [self::existing(['privileged' => true, 'roles' => ['subscriber']])];
        yield 'administrator' => [self::existing(['roles' => ['administrator']])];
        yield 'editor (unfiltered_html)' => [self::existing(['roles' => ['editor']])];
        yield 'a second role that is powerful' => [self::existing(['roles' => ['customer', 'shop_manager']])];
    }

    /**
     * @dataProvider privilegedUserProvider
     * @param array<string, mixed> $user
     */
    public function testPrivilegedExistingUserIsNeverChanged(array $user): void
    {
        $options = self::options([
            'field_map' => ['14' => 'user_pass', '12' => 'membership_level'],
            'allowed_roles' => ['subscriber', 'customer'],
            'requested_role' => 'customer',
            'return_password_field' => '16',
        ]);
        try {
            crmhook_map_contact(self::contact(['email' => 'attacker@example.net', 'first_name' => 'Mallory']), $options, $user);
            $this->fail('a plan was made for a privileged user');
        } catch (\CrmHook\WebhookException $e) {
            $this->assertSame(409, $e->getCode());
            $this->assertStringContainsString('user 7 is privileged', $e->getMessage());
        }
    }

    public function testCapabilitiesTheSiteAddsMakeAUserPrivileged(): void
    {
        $options = self::options(['roles' => self::ROLES + ['store_manager' => ['read' => true, 'manage_woocommerce' => true]]]);
        $manager = self::existing(['roles' => ['store_manager']]);
        $this->assertSame('update', crmhook_map_contact(self::contact(), $options, $manager)['op']);
        $this->expectException(\CrmHook\WebhookException::class);
        $this->expectExceptionCode(409);
        crmhook_map_contact(self::contact(), $options + ['privileged_capabilities' => ['manage_woocommerce']], $manager);
    }

    public function testPrivilegedCapabilitiesAreExported(): void
    {
        $caps = crmhook_privileged_capabilities();
        foreach (['manage_options', 'edit_users', 'promote_users', 'activate_plugins', 'edit_plugins', 'unfiltered_html'] as $cap) {
            $this->assertContains($cap, $caps);
        }
        $this->assertSame(array_values(array_unique($caps)), $caps);
    }

    public function testUpdateChangesEmailAndNamesButNeverTheLogin(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['field_map' => ['13' => 'user_login']]), self::existing());
        $this->assertSame('update', $plan['op']);
        $this->assertSame(7, $plan['user']['ID']);
        $this->assertSame('Ann+VIP@Example.com', $plan['user']['user_email']);
        $this->assertSame('Ann', $plan['user']['first_name']);
        $this->assertSame('Lee', $plan['user']['last_name']);
        $this->assertArrayNotHasKey('user_login', $plan['user'], 'WordPress logins do not change');
        $this->assertArrayNotHasKey('role', $plan['user'], 'no role asked, none changed');
    }

    public function testSameEmailInOtherCaseIsNotAnEmailChange(): void
    {
        $plan = crmhook_map_contact(self::contact(['email' => 'OLD@example.com']), self::options(), self::existing());
        $this->assertArrayNotHasKey('user_email', $plan['user']);
    }

    public function testUpdateWithoutEmailIsFine(): void
    {
        $plan = crmhook_map_contact(self::contact(['email' => '']), self::options(), self::existing());
        $this->assertSame('update', $plan['op']);
        $this->assertArrayNotHasKey('user_email', $plan['user']);
    }

    public function testContactWithoutEmailCannotBeCreated(): void
    {
        foreach (['', '   ', null] as $email) {
            $contact = self::contact(['email' => $email]);
            $this->assertRefused(fn () => crmhook_map_contact($contact, self::options(), null), WebhookException::class, 422, 'no email address');
        }
        $contact = self::contact();
        unset($contact['email']);
        $this->assertRefused(fn () => crmhook_map_contact($contact, self::options(), null), WebhookException::class, 422, 'contact 42');
    }

    public function testEmailFromAMappedFieldIsUsed(): void
    {
        $plan = crmhook_map_contact(self::contact(['email' => '', 'fields' => ['20' => 'mapped@example.com']]), self::options(['field_map' => ['20' => 'user_email']]), null);
        $this->assertSame('mapped@example.com', $plan['user']['user_email']);
    }

    // ---- field map, meta, tags ---------------------------------------------------------------------------------------

    public function testFieldMapFillsMeta(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(['field_map' => ['12' => 'membership_level', '99' => 'absent_field', '15' => 'first_name']]), null);
        $this->assertSame(['membership_level' => 'Gold'], $plan['meta'], 'absent fields are not invented; user keys go to user');
        $this->assertSame('customer', $plan['user']['first_name'], 'a field mapped to first_name fills the user');
    }

    /** @return iterable<string, array{string}> */
    public static function protectedMetaProvider(): iterable
    {
        foreach (['wp_capabilities', 'wp_user_level', 'wp_2_capabilities', 'wp_2_user_level', 'WP_Capabilities', 'session_tokens', 'activecampaign_contact_id'] as $key) {
            yield $key => [$key];
        }
    }

    /** @dataProvider protectedMetaProvider */
    public function testProtectedMetaKeysAreRefused(string $key): void
    {
        $contact = self::contact(['fields' => ['12' => 'Gold', '30' => 'a:1:{s:13:"administrator";b:1;}']]);
        $plan = crmhook_map_contact($contact, self::options(['field_map' => ['30' => $key, '12' => 'membership_level']]), null);
        $this->assertArrayNotHasKey($key, $plan['meta']);
        $this->assertSame(['membership_level' => 'Gold'], $plan['meta']);
        $this->assertStringContainsString($key, implode("\n", $plan['notices']), 'the refusal is logged');
    }

    public function testNumericFieldIdsWorkAsIntOrStringKeys(): void
    {
        // PHP turns '12' into the int key 12 on both sides; "012" stays a string.
        $contact = self::contact(['fields' => [12 => 'Gold', '012' => 'zero-led', 13 => 'annlee']]);
        $plan = crmhook_map_contact($contact, self::options(['field_map' => ['12' => 'level', '012' => 'led', 13 => '99']]), null);
        $this->assertSame('Gold', $plan['meta']['level']);
        $this->assertSame('zero-led', $plan['meta']['led']);
        $this->assertSame('annlee', $plan['meta']['99']);
        $this->assertSame('annlee', $plan['meta'][99]);
        $this->assertContains(99, array_keys($plan['meta']), 'a numeric meta key is an int key, as PHP makes it');
    }

    public function testMultiSelectFieldArrivesJoined(): void
    {
        $plan = crmhook_map_contact(self::contact(['fields' => ['40' => ['Red', 'Blue']]]), self::options(['field_map' => ['40' => 'colors']]), null);
        $this->assertSame('Red, Blue', $plan['meta']['colors']);
    }

    public function testTagsAreTrimmedDeduplicatedAndOrdered(): void
    {
        $plan = crmhook_map_contact(self::contact(['tags' => [' VIP', 'Customer', 'VIP ', '', '  ', 'Gold', 'Customer', 3, '3']]), self::options(), null);
        $this->assertSame(['VIP', 'Customer', 'Gold', '3'], $plan['tags']);
        $this->assertSame([], crmhook_map_contact(self::contact(['tags' => []]), self::options(), null)['tags']);
    }

    public function testPlanHasTheDocumentedShape(): void
    {
        $plan = crmhook_map_contact(self::contact(), self::options(), null);
        $this->assertSame(['op', 'user', 'meta', 'tags', 'password_generated', 'return_password', 'notices'], array_keys($plan));
        $this->assertSame(['user_login', 'user_email', 'user_pass', 'first_name', 'last_name', 'display_name', 'role'], array_keys($plan['user']));
        $this->assertSame('Ann Lee', $plan['user']['display_name']);
        $this->assertSame(array_values($plan['notices']), $plan['notices'], 'notices is a list');
        $this->assertSame(['VIP', 'Customer'], $plan['tags']);
    }

    // ---- wrong argument types ----------------------------------------------------------------------------------------

    /** @return iterable<string, array{array<string, mixed>, array<string, mixed>, ?array<string, mixed>, string, string}> */
    public static function wrongArgumentProvider(): iterable
    {
        yield 'fields is a string' => [self::contact(['fields' => 'x']), self::options(), null, TypeError::class, 'Argument #1 ($contact) key "fields"'];
        yield 'a tag is a list' => [self::contact(['tags' => [['VIP']]]), self::options(), null, TypeError::class, 'Argument #1 ($contact) key "tags"'];
        yield 'id is a list' => [self::contact(['id' => [42]]), self::options(), null, TypeError::class, 'Argument #1 ($contact) key "id"'];
        yield 'email is invalid UTF-8' => [self::contact(['email' => "ann\xff@example.com"]), self::options(), null, TypeError::class, 'UTF-8'];
        yield 'roles is a string' => [self::contact(), self::options(['roles' => 'administrator']), null, TypeError::class, 'Argument #2 ($options) key "roles"'];
        yield 'a role is a string' => [self::contact(), self::options(['roles' => ['subscriber' => 'read']]), null, TypeError::class, 'roles'];
        yield 'allowed_roles is a string' => [self::contact(), self::options(['allowed_roles' => 'customer']), null, TypeError::class, 'allowed_roles'];
        yield 'field_map is a string' => [self::contact(), self::options(['field_map' => '12=level']), null, TypeError::class, 'field_map'];
        yield 'user ID is 0' => [self::contact(), self::options(), self::existing(['ID' => 0]), ValueError::class, "\$user['ID']"];
        yield 'user ID is negative' => [self::contact(), self::options(), self::existing(['ID' => -3]), ValueError::class, "\$user['ID']"];
        yield 'user without ID' => [self::contact(), self::options(), ['user_login' => 'ann'], ValueError::class, "\$user['ID']"];
    }

    /**
     * @dataProvider wrongArgumentProvider
     * @param array<string, mixed> $contact
     * @param array<string, mixed> $options
     * @param array<string, mixed>|null $user
     */
    public function testWrongArgumentsAreTypeOrValueErrors(array $contact, array $options, ?array $user, string $class, string $fragment): void
    {
        $this->assertRefused(fn () => crmhook_map_contact($contact, $options, $user), $class, 0, $fragment);
    }

    public function testUserMayBeOmitted(): void
    {
        $this->assertSame('create', crmhook_map_contact(self::contact(), self::options())['op']);
    }
}
