export {
  ConversationMembersQuery,
  ConversationMembersResponse,
  ConversationParams,
  ConversationResponse,
  ConversationsQuery,
  ConversationsResponse,
  CreateConversationBody,
  ErrorBody,
  MuteBody,
} from "@parley/contract";
