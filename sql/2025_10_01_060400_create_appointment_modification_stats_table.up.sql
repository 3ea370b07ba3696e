-- Materialised per-customer counters for O(1) quota checks, recomputed hourly.
-- customer_id is indexed but has no foreign key: rows are rebuilt from
-- appointment_modifications, so a stale row is harmless and cheaper than a cascade.
CREATE TABLE `appointment_modification_stats` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `company_id` bigint unsigned NOT NULL,
  `customer_id` bigint unsigned NOT NULL,
  `stat_type` enum('cancel_30d','reschedule_30d','cancel_90d','reschedule_90d','violation') NOT NULL,
  `period_start` date NOT NULL,
  `period_end` date NOT NULL,
  `count` int unsigned NOT NULL DEFAULT 0,
  `calculated_at` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `metadata` json NULL DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `appointment_modification_stats_customer_period_unique` (`company_id`, `customer_id`, `stat_type`, `period_start`),
  KEY `appointment_modification_stats_company_period_end_index` (`company_id`, `period_end`, `calculated_at`),
  KEY `appointment_modification_stats_company_calculated_at_index` (`company_id`, `calculated_at`, `stat_type`),
  KEY `appointment_modification_stats_customer_id_stat_type_index` (`customer_id`, `stat_type`),
  CONSTRAINT `appointment_modification_stats_company_id_foreign` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
