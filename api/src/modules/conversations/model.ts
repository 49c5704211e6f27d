export {
  ConversationParams,
  ConversationResponse,
  ConversationsResponse,
  CreateConversationBody,
  ErrorBody,
} from "@parley/contract";
