export {
  ConversationParams,
  ConversationResponse,
  ConversationsQuery,
  ConversationsResponse,
  CreateConversationBody,
  ErrorBody,
} from "@parley/contract";
