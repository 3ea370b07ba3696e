-- Callback management with SLA tracking, soft delete. branch_id, staff_id and
-- assigned_to are char(36) UUIDs: they inherit the table's utf8mb4_unicode_ci, the
-- parents' collation (a different one fails with errno 150).
-- expires_at (the SLA deadline) has no default on purpose: the application must set
-- it. A nullable timestamp comes first so that a server with
-- explicit_defaults_for_timestamp=OFF cannot promote expires_at to
-- DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP (only a table's first
-- timestamp column gets that).
CREATE TABLE `callback_requests` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `company_id` bigint unsigned NOT NULL,
  `customer_id` bigint unsigned NULL DEFAULT NULL,
  `branch_id` char(36) NOT NULL,
  `service_id` bigint unsigned NULL DEFAULT NULL,
  `staff_id` char(36) NULL DEFAULT NULL,
  `phone_number` varchar(50) NOT NULL,
  `customer_name` varchar(255) NOT NULL,
  `preferred_time_window` json NULL DEFAULT NULL,
  `priority` enum('normal','high','urgent') NOT NULL DEFAULT 'normal',
  `status` enum('pending','assigned','contacted','completed','expired','cancelled') NOT NULL DEFAULT 'pending',
  `assigned_to` char(36) NULL DEFAULT NULL,
  `assigned_at` timestamp NULL DEFAULT NULL,
  `contacted_at` timestamp NULL DEFAULT NULL,
  `completed_at` timestamp NULL DEFAULT NULL,
  `expires_at` timestamp NOT NULL,
  `notes` text NULL DEFAULT NULL,
  `metadata` json NULL DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  `deleted_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `callback_requests_company_id_status_priority_expires_at_index` (`company_id`, `status`, `priority`, `expires_at`),
  KEY `callback_requests_company_id_assigned_to_status_index` (`company_id`, `assigned_to`, `status`),
  KEY `callback_requests_company_id_created_at_index` (`company_id`, `created_at`),
  KEY `callback_requests_customer_id_index` (`customer_id`),
  KEY `callback_requests_branch_id_status_index` (`branch_id`, `status`),
  KEY `callback_requests_service_id_index` (`service_id`),
  KEY `callback_requests_staff_id_index` (`staff_id`),
  KEY `callback_requests_assigned_to_index` (`assigned_to`),
  CONSTRAINT `callback_requests_company_id_foreign` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE,
  CONSTRAINT `callback_requests_customer_id_foreign` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE CASCADE,
  CONSTRAINT `callback_requests_branch_id_foreign` FOREIGN KEY (`branch_id`) REFERENCES `branches` (`id`) ON DELETE CASCADE,
  CONSTRAINT `callback_requests_service_id_foreign` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE SET NULL,
  CONSTRAINT `callback_requests_staff_id_foreign` FOREIGN KEY (`staff_id`) REFERENCES `staff` (`id`) ON DELETE SET NULL,
  CONSTRAINT `callback_requests_assigned_to_foreign` FOREIGN KEY (`assigned_to`) REFERENCES `staff` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
