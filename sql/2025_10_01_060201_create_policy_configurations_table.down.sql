DROP TABLE `policy_configurations`;
