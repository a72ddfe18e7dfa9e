<?php
/**
 * MariaDB/MySQL named locks: the guard that makes find-or-create safe under concurrency.
 *
 * @package crmhook
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Holds named locks for the length of one webhook.
 */
final class CrmHook_Lock {

	/** @var list<string> Locks held by this request. */
	private array $held = array();

	/**
	 * Takes a lock, waiting up to `$timeout` seconds. Lock names are hashed so any input
	 * fits MySQL's 64-character limit. Whoever takes several locks takes them in the order of
	 * their names (see acquire_all()): `contact:` before `email:` before `login:`.
	 *
	 * @param string $what    What the lock protects (e.g. "email:ann@example.com").
	 * @param int    $timeout Seconds to wait.
	 */
	public function acquire( string $what, int $timeout = 10 ): bool {
		global $wpdb;
		$name = 'crmhook_' . md5( $what );
		$got  = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, %d)', $name, $timeout ) );
		if ( '1' === (string) $got ) {
			$this->held[] = $name;
			return true;
		}
		return false;
	}

	/**
	 * Takes several locks in one fixed order (sorted by name), so two requests that need an
	 * overlapping set can never each hold a lock the other waits for. All or none: on a timeout
	 * the ones already taken are released.
	 *
	 * @param list<string> $whats   What the locks protect.
	 * @param int          $timeout Seconds to wait for each.
	 */
	public function acquire_all( array $whats, int $timeout = 10 ): bool {
		$whats = array_values( array_unique( $whats ) );
		sort( $whats, SORT_STRING );
		foreach ( $whats as $what ) {
			if ( ! $this->acquire( $what, $timeout ) ) {
				$this->release_all();
				return false;
			}
		}
		return true;
	}

	/**
	 * Releases every lock this request took, newest first.
	 */
	public function release_all(): void {
		global $wpdb;
		while ( $this->held ) {
			$name = array_pop( $this->held );
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $name ) );
		}
	}
}
