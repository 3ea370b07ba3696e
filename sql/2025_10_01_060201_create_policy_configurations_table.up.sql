-- Policy inheritance (Company → Branch → Service), polymorphic, soft delete.
-- At most one active (not soft-deleted) row per scope and policy type: a unique key
-- over deleted_at would not do it (NULL never equals NULL, so two active duplicates
-- pass). active_key is 1 for active rows and NULL for deleted ones, so deleted rows
-- fall out of the unique key while active rows collide. STORED, so MySQL and MariaDB
-- both index it without restrictions on virtual columns.
CREATE TABLE `policy_configurations` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `company_id` bigint unsigned NOT NULL,
  `configurable_type` varchar(255) NOT NULL,
  `configurable_id` varchar(36) NOT NULL,
  `policy_type` enum('cancellation','reschedule','recurring') NOT NULL,
  `config` json NOT NULL,
  `is_override` tinyint(1) NOT NULL DEFAULT 0,
  `overrides_id` bigint unsigned NULL DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  `deleted_at` timestamp NULL DEFAULT NULL,
  `active_key` tinyint unsigned GENERATED ALWAYS AS (CASE WHEN `deleted_at` IS NULL THEN 1 END) STORED,
  PRIMARY KEY (`id`),
  UNIQUE KEY `policy_configurations_active_scope_policy_unique` (`company_id`, `configurable_type`, `configurable_id`, `policy_type`, `active_key`),
  KEY `policy_configurations_company_id_policy_type_index` (`company_id`, `policy_type`),
  KEY `policy_configurations_overrides_id_index` (`overrides_id`),
  CONSTRAINT `policy_configurations_company_id_foreign` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE,
  CONSTRAINT `policy_configurations_overrides_id_foreign` FOREIGN KEY (`overrides_id`) REFERENCES `policy_configurations` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
