-- SLA breach handling and manual escalations of callback requests.
-- escalated_at has no default on purpose (the application sets it). resolved_at, a
-- nullable timestamp, is declared before it so that a server with
-- explicit_defaults_for_timestamp=OFF cannot promote escalated_at, as the table's
-- first timestamp column, to DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
-- (which would rewrite it whenever the escalation is resolved).
CREATE TABLE `callback_escalations` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `company_id` bigint unsigned NOT NULL,
  `callback_request_id` bigint unsigned NOT NULL,
  `escalation_reason` enum('sla_breach','manual_escalation','multiple_attempts_failed') NOT NULL,
  `escalated_from` char(36) NULL DEFAULT NULL,
  `escalated_to` char(36) NULL DEFAULT NULL,
  `resolved_at` timestamp NULL DEFAULT NULL,
  `escalated_at` timestamp NOT NULL,
  `resolution_notes` text NULL DEFAULT NULL,
  `metadata` json NULL DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `callback_escalations_company_id_escalated_at_index` (`company_id`, `escalated_at`),
  KEY `callback_escalations_company_id_escalation_reason_index` (`company_id`, `escalation_reason`),
  KEY `callback_escalations_callback_request_id_index` (`callback_request_id`),
  KEY `callback_escalations_escalated_from_index` (`escalated_from`),
  KEY `callback_escalations_escalated_to_resolved_at_index` (`escalated_to`, `resolved_at`),
  CONSTRAINT `callback_escalations_company_id_foreign` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE,
  CONSTRAINT `callback_escalations_callback_request_id_foreign` FOREIGN KEY (`callback_request_id`) REFERENCES `callback_requests` (`id`) ON DELETE CASCADE,
  CONSTRAINT `callback_escalations_escalated_from_foreign` FOREIGN KEY (`escalated_from`) REFERENCES `staff` (`id`) ON DELETE SET NULL,
  CONSTRAINT `callback_escalations_escalated_to_foreign` FOREIGN KEY (`escalated_to`) REFERENCES `staff` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
