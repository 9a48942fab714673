/**
 * Attribute names from OpenTelemetry semantic conventions that are still in Development status, copied
 * here `as const` (the stable ones come from `@opentelemetry/semantic-conventions` `ATTR_*`).
 */

// Messaging (https://opentelemetry.io/docs/specs/semconv/messaging/)
export const ATTR_MESSAGING_SYSTEM = 'messaging.system' as const;
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name' as const;
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type' as const;
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name' as const;
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id' as const;
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name' as const;
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count' as const;
export const MESSAGING_SYSTEM_VALUE_BULLMQ = 'bullmq' as const;
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send' as const;
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process' as const;

// Database (https://opentelemetry.io/docs/specs/semconv/database/)
export const ATTR_DB_SYSTEM_NAME = 'db.system.name' as const;
export const ATTR_DB_OPERATION_NAME = 'db.operation.name' as const;
export const ATTR_DB_COLLECTION_NAME = 'db.collection.name' as const;
export const ATTR_DB_QUERY_SUMMARY = 'db.query.summary' as const;
export const ATTR_DB_NAMESPACE = 'db.namespace' as const;
export const DB_SYSTEM_NAME_VALUE_POSTGRESQL = 'postgresql' as const;

// GenAI workflow span (https://opentelemetry.io/docs/specs/semconv/gen-ai/)
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name' as const;
export const ATTR_GEN_AI_WORKFLOW_NAME = 'gen_ai.workflow.name' as const;
export const GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW = 'invoke_workflow' as const;

// General
export const ATTR_ERROR_TYPE = 'error.type' as const;
export const ATTR_USER_ID = 'user.id' as const;
export const ATTR_DEPLOYMENT_ENVIRONMENT_NAME = 'deployment.environment.name' as const;
export const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id' as const;
